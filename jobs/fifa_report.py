"""spark-submit entry point of the `fifa-report` job (same as `sparkfolio fifa-report`).

Usage: spark-submit [spark options] jobs/fifa_report.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `fifa-report` on the master spark-submit (or --master) gives."""
    return run_job("fifa-report", argv)


if __name__ == "__main__":
    sys.exit(main())
