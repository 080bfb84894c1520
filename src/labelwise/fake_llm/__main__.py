"""`python -m labelwise.fake_llm` runs the fake LLM server (same flags as `labelwise fake-llm`)."""

from __future__ import annotations

import sys

from labelwise.fake_llm.server import main

sys.exit(main())
