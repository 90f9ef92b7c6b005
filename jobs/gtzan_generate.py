"""spark-submit entry point of the `gtzan-generate` job (same as `sparkfolio gtzan-generate`).

Usage: spark-submit [spark options] jobs/gtzan_generate.py --input ... --output ... [--set key=value]
"""

import sys
from typing import Sequence

from sparkfolio.cli import run_job


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gtzan-generate` on the master spark-submit (or --master) gives."""
    return run_job("gtzan-generate", argv)


if __name__ == "__main__":
    sys.exit(main())
