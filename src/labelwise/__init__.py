"""labelwise: LLM auto-labeling with calibrated confidence and a human review queue."""

from __future__ import annotations

__version__ = "0.1.0"
