"""spark-submit entry point of the `plates-generate` job (same as `sparkfolio plates-generate`).

Usage: spark-submit [spark options] jobs/plates_generate.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `plates-generate` on the master spark-submit (or --master) gives."""
    return run_job("plates-generate", argv)


if __name__ == "__main__":
    sys.exit(main())
