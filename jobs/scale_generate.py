"""spark-submit entry point of the `scale-generate` job (same as `sparkfolio scale-generate`).

Usage: spark-submit [spark options] jobs/scale_generate.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `scale-generate` on the master spark-submit (or --master) gives."""
    return run_job("scale-generate", argv)


if __name__ == "__main__":
    sys.exit(main())
