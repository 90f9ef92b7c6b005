"""spark-submit entry point of the `netflix-generate` job (same as `sparkfolio netflix-generate`).

Usage: spark-submit [spark options] jobs/netflix_generate.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `netflix-generate` on the master spark-submit (or --master) gives."""
    return run_job("netflix-generate", argv)


if __name__ == "__main__":
    sys.exit(main())
