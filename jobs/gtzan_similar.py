"""spark-submit entry point of the `gtzan-similar` job (same as `sparkfolio gtzan-similar`).

Usage: spark-submit [spark options] jobs/gtzan_similar.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gtzan-similar` on the master spark-submit (or --master) gives."""
    return run_job("gtzan-similar", argv)


if __name__ == "__main__":
    sys.exit(main())
