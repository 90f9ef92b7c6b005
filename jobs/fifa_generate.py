"""spark-submit entry point of the `fifa-generate` job (same as `sparkfolio fifa-generate`).

Usage: spark-submit [spark options] jobs/fifa_generate.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `fifa-generate` on the master spark-submit (or --master) gives."""
    return run_job("fifa-generate", argv)


if __name__ == "__main__":
    sys.exit(main())
