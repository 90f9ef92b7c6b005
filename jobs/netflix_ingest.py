"""spark-submit entry point of the `netflix-ingest` job (same as `sparkfolio netflix-ingest`).

Usage: spark-submit [spark options] jobs/netflix_ingest.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `netflix-ingest` on the master spark-submit (or --master) gives."""
    return run_job("netflix-ingest", argv)


if __name__ == "__main__":
    sys.exit(main())
