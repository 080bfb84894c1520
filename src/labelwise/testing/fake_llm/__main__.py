"""`python -m labelwise.testing.fake_llm` runs the fake LLM server (same flags as
`labelwise fake-llm`)."""

from __future__ import annotations

import sys

from labelwise.testing.fake_llm.server import main

sys.exit(main())
