"""The trust suite's entry point, as CI runs it: `.venv/bin/python benchmarks/trust.py [--help]`.

The suite itself is the `trust` package beside this file (this folder is on `sys.path` when the
file is run, as for the other benchmarks' `from stack import ...`).
"""

from __future__ import annotations

import sys

from trust.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
