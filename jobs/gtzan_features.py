"""spark-submit entry point of the `gtzan-features` job (same as `sparkfolio gtzan-features`).

Usage: spark-submit [spark options] jobs/gtzan_features.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gtzan-features` on the master spark-submit (or --master) gives."""
    return run_job("gtzan-features", argv)


if __name__ == "__main__":
    sys.exit(main())
