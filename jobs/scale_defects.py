"""spark-submit entry point of the `scale-defects` job (same as `sparkfolio scale-defects`).

Usage: spark-submit [spark options] jobs/scale_defects.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `scale-defects` on the master spark-submit (or --master) gives."""
    return run_job("scale-defects", argv)


if __name__ == "__main__":
    sys.exit(main())
