"""Entry point of the cluster simulation (run it through simulate.sh, which checks the machine,
names the directories and cleans up after it)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clustersim.run import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
