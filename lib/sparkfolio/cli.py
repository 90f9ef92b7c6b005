"""The ``sparkfolio`` command and the shared entry point of every ``jobs/<job>.py``.

``sparkfolio JOB [options]`` runs a job on ``--master`` (default ``local[*]``);
``spark-submit jobs/JOB.py [options]`` runs the same job on the master spark-submit was given.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
import typing
from pathlib import Path
from typing import Any, Sequence

from sparkfolio.registry import JOBS, job_spec
from sparkfolio.runtime.config import job_spark_settings, load_config
from sparkfolio.runtime.errors import SparkfolioError
from sparkfolio.runtime.job import JobContext, JobSpec
from sparkfolio.runtime.logs import setup_logging
from sparkfolio.runtime.paths import conf_dir
from sparkfolio.runtime.session import build_session, submitted_master

log = logging.getLogger("sparkfolio.cli")


def main(argv: Sequence[str] | None = None) -> int:
    """``sparkfolio JOB [options]``: run one job; ``sparkfolio --help`` lists the jobs."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_overview())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if job_spec(name) is None:
        print(f"sparkfolio: error: unknown job {name!r}; jobs: {', '.join(j.name for j in JOBS)}", file=sys.stderr)
        return 2
    return run_job(name, rest, default_master="local[*]")


def run_job(name: str, argv: Sequence[str] | None = None, default_master: str | None = None) -> int:
    """Parse the shared flags, load the config, build the session and run the job ``name``.

    Returns the process exit code: 0 on success, the error's code (2-4) for a problem the user
    can fix, reported as one line on stderr without a traceback.
    """
    spec = job_spec(name)
    if spec is None:
        raise ValueError(f"unknown job {name!r}")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _job_parser(spec, default_master)
    if any(a in ("-h", "--help") for a in argv):
        parser.print_help()
        print(_config_help(spec))
        return 0
    opts = parser.parse_args(argv)
    setup_logging(opts.log_level)
    from pyspark.sql import SparkSession

    owns_session = SparkSession.getActiveSession() is None
    spark = None
    started = time.perf_counter()
    try:
        config_path = _config_path(spec, opts.config)
        cfg = load_config(spec.load_config_class(), config_path, opts.set)
        if spec.needs_input and not opts.input:
            raise SparkfolioError(f"--input is required for {spec.name}")
        master = submitted_master() or opts.master or "local[*]"
        profile = opts.profile or ("local" if master.startswith("local") else "cluster")
        spark = build_session(f"sparkfolio {spec.name}", master=opts.master, profile=profile,
                              settings=job_spark_settings(config_path))
        ctx = JobContext(spark=spark, config=cfg, input=opts.input, output=opts.output or f"output/{spec.name}",
                         job=spec.name, log=logging.getLogger(f"sparkfolio.{spec.name}"))
        spec.load_runner()(ctx)
    except SparkfolioError as exc:
        print(f"sparkfolio {spec.name}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # Spark's own errors for bad paths are the user's too
        message = _user_facing_spark_error(exc)
        if message is None:
            raise
        print(f"sparkfolio {spec.name}: error: {message}", file=sys.stderr)
        return 2
    finally:
        if spark is not None and owns_session:
            spark.stop()
    log.info("%s finished in %.1f s", spec.name, time.perf_counter() - started)
    return 0


def _job_parser(spec: JobSpec, default_master: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"sparkfolio {spec.name}",
        description=spec.summary,
        epilog="Config keys (set in the YAML file or with --set) are listed below.",
    )
    parser.add_argument("--input", help="input file, folder or glob" + (" (required)" if spec.needs_input else ""))
    parser.add_argument("--output", help=f"output folder (default output/{spec.name}); replaced atomically")
    parser.add_argument("--config", help=f"YAML config (default conf/{spec.name.replace('-', '_')}.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key; repeatable; dotted keys reach nested sections")
    parser.add_argument("--master", default=None if default_master is None else default_master,
                        help="Spark master when not under spark-submit (default local[*])")
    parser.add_argument("--profile", default=None,
                        help="Spark settings profile from conf/spark/ (default: local for local masters, else cluster)")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def _config_path(spec: JobSpec, given: str | None) -> Path | None:
    """The explicit ``--config`` (which must exist) or ``conf/<job>.yaml`` when there is one."""
    if given:
        return Path(given)
    folder = conf_dir()
    if folder is None:
        log.warning("no conf/ folder; %s runs on its coded defaults", spec.name)
        return None
    default = folder / f"{spec.name.replace('-', '_')}.yaml"
    return default if default.exists() else None


def _config_help(spec: JobSpec) -> str:
    cls = spec.load_config_class()
    lines = ["", "config keys (default value):"]
    lines += _describe_fields(cls, "")
    return "\n".join(lines)


def _describe_fields(cls: type, prefix: str) -> list[str]:
    hints = typing.get_type_hints(cls)
    out: list[str] = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out += _describe_fields(tp, f"{prefix}{f.name}.")
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "(required)")
        doc = f.metadata.get("help", "")
        out.append(f"  {prefix}{f.name} = {default!r}" + (f"  -- {doc}" if doc else ""))
    return out


def _overview() -> str:
    width = max(len(j.name) for j in JOBS)
    rows = "\n".join(f"  {j.name:<{width}}  {j.summary}" for j in JOBS)
    return (
        "usage: sparkfolio JOB [--input PATH] [--output DIR] [--config YAML] [--set KEY=VALUE ...]\n"
        "                      [--master URL] [--profile NAME] [--log-level LEVEL]\n"
        "       spark-submit jobs/JOB.py [same options]   (JOB with underscores, e.g. jobs/netflix_ingest.py)\n\n"
        f"jobs:\n{rows}\n\n"
        "shared options:\n"
        "  --input PATH       input file, folder or glob\n"
        "  --output DIR       output folder, replaced atomically (default output/JOB)\n"
        "  --config YAML      config file (default conf/JOB.yaml)\n"
        "  --set KEY=VALUE    override a config key; repeatable\n"
        "  --master URL       Spark master outside spark-submit (default local[*])\n"
        "  --profile NAME     Spark settings from conf/spark/NAME.yaml\n"
        "  --log-level LEVEL  logging level (default INFO)\n\n"
        "`sparkfolio JOB --help` lists a job's config keys and defaults."
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _user_facing_spark_error(exc: BaseException) -> str | None:
    """Spark's message for a missing path or unreadable data, trimmed to one line; else ``None``."""
    try:
        from pyspark.errors import AnalysisException
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, AnalysisException) and getattr(exc, "getCondition", lambda: None)() == "PATH_NOT_FOUND":
        return _one_line(exc).split(" SQLSTATE")[0]
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
