"""spark-submit entry point of the `plates-ocr` job (same as `sparkfolio plates-ocr`).

Usage: spark-submit [spark options] jobs/plates_ocr.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `plates-ocr` on the master spark-submit (or --master) gives."""
    return run_job("plates-ocr", argv)


if __name__ == "__main__":
    sys.exit(main())
