"""spark-submit entry point of the `netflix-als` job (same as `sparkfolio netflix-als`).

Usage: spark-submit [spark options] jobs/netflix_als.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `netflix-als` on the master spark-submit (or --master) gives."""
    return run_job("netflix-als", argv)


if __name__ == "__main__":
    sys.exit(main())
