"""`python -m labelwise` is the `labelwise` command."""

from __future__ import annotations

import sys

from labelwise.cli.main import main

sys.exit(main())
