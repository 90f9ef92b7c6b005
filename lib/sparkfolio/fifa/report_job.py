"""``fifa-report``: clean the FIFA 19 player CSV and report on it.

Reads the Kaggle ``data.csv`` (or generated files in the same format, a folder or a glob), writes
the cleaned ``players`` and the ``rejects`` tables, the aggregate tables (per nation, club,
position group, age...), ``metrics.json``, seaborn PNGs, offline plotly pages and ``report.html``.

The players pass: the driver lists the files, checks the header and cuts the files into
byte-range splits (:func:`sparkfolio.fifa.source.plan_input`); Spark tasks read their splits
themselves, parse the text in Arrow and write the ``players`` and ``rejects`` Parquet parts
straight into the staged output (:mod:`sparkfolio.fifa.players_tasks`), returning one row of
counters each, from which the driver builds the quality summary. All aggregation then runs in
Spark over the written ``players``; the driver only receives the small aggregated tables.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkfolio.fifa import aggregate, clean, compare, geo, html_report, interactive, plots, players_tasks
from sparkfolio.fifa.source import CsvInput, plan_input
from sparkfolio.runtime import fsio
from sparkfolio.runtime.byteranges import pack_splits
from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput
from sparkfolio.runtime.tasks import run_tasks

log = logging.getLogger(__name__)


@dataclass
class ReportConfig:
    """Settings of ``fifa-report`` (``conf/fifa_report.yaml`` mirrors these defaults)."""

    encoding: str = field(default="UTF-8", metadata={"help": "text encoding of the CSV (the Kaggle file is UTF-8 with a BOM)"})
    multi_line: bool = field(default=False, metadata={"help": "allow line breaks inside quoted fields (makes each file one task)"})
    split_size_mb: float = field(default=64.0, metadata={"help": "bytes per parallel split of an uncompressed file"})
    min_nation_players: int = field(default=100, metadata={"help": "nations with fewer players are left out of by_nation"})
    plot_nations: int = field(default=12, metadata={"help": "nations with most players in the box plot"})
    reference_nation: str = field(default="England", metadata={"help": "the nation the seed observation is about"})
    compare_nations: list[str] = field(default_factory=lambda: ["Spain", "France", "Germany", "Brazil", "Argentina"],
                                       metadata={"help": "nations compared with the reference"})
    high_rating: int = field(default=80, metadata={"help": "Overall counted as top class in the comparison"})
    young_max_age: int = field(default=21, metadata={"help": "oldest age in the Potential - Overall gap list"})
    top_gaps: int = field(default=20, metadata={"help": "length of the Potential - Overall gap list"})
    top_clubs: int = field(default=20, metadata={"help": "clubs listed in metrics.json and the report"})
    scatter_sample: int = field(default=5000, metadata={"help": "players drawn for the value-vs-Overall scatter"})
    max_reject_fraction: float = field(default=0.01, metadata={"help": "fail when more rows than this are dropped"})
    seed: int = field(default=42, metadata={"help": "seed of the scatter sample"})


TABLES = ["players", "rejects", "by_nation", "nation_overall_hist", "nation_map", "by_club", "by_position_group",
          "by_age", "potential_gaps", "value_by_overall", "preferred_foot", "overall_hist", "skill_correlations",
          "nation_comparison"]


def run(ctx: JobContext) -> None:
    """Clean, aggregate, test, plot and publish (see the module docstring)."""
    cfg: ReportConfig = ctx.config
    _check(cfg)
    spark = ctx.spark
    t0 = time.perf_counter()
    csv_input = plan_input(spark, ctx.input, cfg.encoding, cfg.multi_line, cfg.split_size_mb)
    with JobOutput(spark, ctx.output) as out:
        metrics: dict[str, Any] = {"input": ctx.input, "config": asdict(cfg)}
        quality = write_players_and_rejects(spark, out, csv_input, cfg.encoding, cfg.multi_line)
        metrics["quality"] = quality
        # Wall-clock seconds of the job's two parts (the session start not included).
        metrics["seconds"] = {"players_pass": round(time.perf_counter() - t0, 3)}
        if quality["rows_read"] == 0:
            raise InputError(f"{ctx.input}: the file has a header but no player rows")
        _check_quality(out, quality, cfg, ctx.input, metrics)
        players = spark.read.parquet(out.path("players"))
        _analyse(ctx, cfg, out, players, metrics, t0)


def _check(cfg: ReportConfig) -> None:
    if cfg.split_size_mb <= 0:
        raise ConfigError(f"split_size_mb must be positive, got {cfg.split_size_mb}")


def write_players_and_rejects(spark: Any, out: JobOutput, csv_input: CsvInput, encoding: str,
                              multi_line: bool) -> dict[str, Any]:
    """The players pass: parse every split in Spark tasks that write ``players`` and ``rejects``; return the quality summary.

    Parsing the 89 text columns is by far the costliest step, so each row is read and parsed
    once, in the task that owns its line; the tasks write their Parquet parts themselves and
    return only counters (rows, drops, rejects, empty values per column), so nothing that grows
    with the data reaches the driver. A table no task wrote rows to gets an empty table of its
    schema; the rejects per column and reason are one grouped count of the written ``rejects``.
    """
    header = list(csv_input.header)
    columns = clean.quality_columns(header)
    fn = functools.partial(players_tasks.parse_splits, header=header, encoding=encoding, multi_line=multi_line,
                           players_uri=out.path("players"), rejects_uri=out.path("rejects"))
    uris = csv_input.source_files
    plan = [[{"split_id": s.split_id, "path": s.path, "source_file": uris[s.file_index],
              "compression": s.compression, "start": s.start, "end": s.end} for s in b]
            for b in pack_splits(csv_input.splits, csv_input.split_bytes)]
    counts = np.zeros(len(clean.ROW_COUNTERS) + len(columns), np.int64)
    for row in run_tasks(spark, plan, fn, players_tasks.COUNTS_DDL).collect():
        counts += np.asarray(row["counts"], np.int64)
    totals = clean.totals_of(counts, columns)
    fsio.ensure_parquet_table(out.path("players"), clean.PLAYERS_SCHEMA)
    fsio.ensure_parquet_table(out.path("rejects"), clean.REJECTS_SCHEMA)
    reject_rows = clean.reject_counts(spark.read.parquet(out.path("rejects"))) if totals["values_rejected"] else []
    return clean.quality_from_totals(totals, reject_rows)


def _check_quality(out: JobOutput, quality: dict[str, Any], cfg: ReportConfig, where: str, metrics: dict[str, Any]) -> None:
    """Publish only rejects and metrics and stop when too many rows were dropped."""
    fraction = quality["rows_dropped"] / quality["rows_read"]
    quality["rows_dropped_fraction"] = fraction
    if fraction <= cfg.max_reject_fraction:
        return
    worst = max(((col, reason, n) for col, reasons in quality["drop_reasons"].items() for reason, n in reasons.items()),
                key=lambda t: t[2], default=("?", "?", 0))
    out.write_json("metrics.json", metrics)
    out.keep_only(["rejects", "metrics.json"])
    raise DataQualityError(
        f"{where}: {quality['rows_dropped']:,} of {quality['rows_read']:,} rows dropped ({100 * fraction:.1f}% > "
        f"max_reject_fraction {100 * cfg.max_reject_fraction:g}%); most common: {worst[0]} {worst[1]} ({worst[2]:,} rows); "
        "see the rejects table (wrong encoding or file layout?)")


def _small(out: JobOutput, name: str, df: DataFrame, sort: list[str] | None = None) -> pd.DataFrame:
    """Write a small aggregate table as one Parquet file and return it as pandas (read back, not recomputed)."""
    out.write_table(name, df.coalesce(1))
    frame = df.sparkSession.read.parquet(out.path(name)).toPandas()
    if sort:
        frame = frame.sort_values(sort, kind="stable").reset_index(drop=True)
    return frame


def _clubs(out: JobOutput, players: DataFrame, top: int) -> dict[str, Any]:
    """Write the full ``by_club`` table with Spark and bring only its top ``top`` rows and totals to the driver.

    Clubs grow with the data (about 357k in 10M generated rows), so the table is never collected:
    it is written in as many files as the shuffle gives, then read back for the richest ``top``
    (squad value, then name) and one count.
    """
    out.write_table("by_club", aggregate.by_club(players))
    written = players.sparkSession.read.parquet(out.path("by_club"))
    top_rows = written.orderBy(F.desc("squad_value_eur"), F.asc("club")).limit(top).toPandas()
    top_rows = top_rows.sort_values(["squad_value_eur", "club"], ascending=[False, True]).reset_index(drop=True)
    t = written.agg(F.count(F.lit(1)).alias("clubs"), F.sum("players").alias("players")).first()
    return {"top": top_rows, "clubs": int(t["clubs"]), "players_with_club": int(t["players"] or 0)}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _analyse(ctx: JobContext, cfg: ReportConfig, out: JobOutput, players: DataFrame, metrics: dict[str, Any],
             started: float) -> None:
    spark = ctx.spark
    players_n = metrics["quality"]["rows_kept"]

    # The per-nation Overall histogram is the only pass over the players for the nation tables:
    # by_nation, nation_map and overall_hist are computed from the written histogram (small).
    nation_hist = _small(out, "nation_overall_hist", aggregate.nation_overall_histogram(players), ["nationality", "overall"])
    hist = spark.read.parquet(out.path("nation_overall_hist"))
    by_nation = _small(out, "by_nation", aggregate.by_nation_from_histogram(hist, cfg.min_nation_players, cfg.high_rating))
    by_nation = by_nation.sort_values(["mean_overall", "nationality"], ascending=[False, True]).reset_index(drop=True)
    nation_stats = _small(out, "nation_map", aggregate.nation_map_from_histogram(hist), ["nationality"])
    overall_hist = _small(out, "overall_hist", aggregate.overall_histogram_from_nations(hist), ["overall"])
    clubs = _clubs(out, players, cfg.top_clubs)
    by_group = _small(out, "by_position_group", aggregate.by_position_group(players))
    by_age = _small(out, "by_age", aggregate.by_age(players), ["age"])
    gaps = _small(out, "potential_gaps", aggregate.potential_gaps(players, cfg.young_max_age, cfg.top_gaps))
    gaps = gaps.sort_values(["gap", "potential", "player_id"], ascending=[False, False, True]).reset_index(drop=True)
    value_by_overall = _small(out, "value_by_overall", aggregate.value_by_overall(players), ["overall"])
    foot = _small(out, "preferred_foot", aggregate.preferred_foot(players), ["position_group", "preferred_foot"])
    totals = aggregate.player_totals(players)
    cols, matrix = totals["skill_columns"], totals["skill_matrix"]
    corr_rows = aggregate.correlation_long(cols, matrix)
    out.write_table("skill_correlations", spark.createDataFrame(
        [(a, b, r) for a, b, r in corr_rows], "a string, b string, r double").coalesce(1))
    value_corr = totals["value_vs_overall"]
    comparison = compare.compare_nations(nation_hist, cfg.reference_nation, cfg.compare_nations, cfg.high_rating)
    cmp_rows = comparison["comparisons"]
    out.write_table("nation_comparison", spark.createDataFrame(
        pd.DataFrame(cmp_rows) if cmp_rows else pd.DataFrame({"nation": pd.Series(dtype=str)})).coalesce(1))
    countries, unmapped = geo.map_frame(nation_stats)
    sample = aggregate.scatter_sample(players, cfg.scatter_sample, cfg.seed).toPandas()
    sample = sample.sort_values("player_id").reset_index(drop=True)
    plotted = int((sample["value_eur"] > 0).sum())
    if totals["skill_excluded"]:
        log.info("skill correlations over %d players; %d left out with a skill missing",
                 totals["skill_players"], totals["skill_excluded"])

    by_group_order = {g: i for i, g in enumerate(["GK", "DEF", "MID", "FWD"])}
    by_group = by_group.sort_values("position_group", key=lambda s: s.map(by_group_order)).reset_index(drop=True)
    metrics.update({
        "players": players_n,
        "nations": int(nation_stats.shape[0]),
        "clubs": clubs["clubs"],
        "players_without_club": int(players_n - clubs["players_with_club"]),
        "by_nation": _records(by_nation),
        "by_nation_top": _records(by_nation.head(15)),
        "by_club_top": _records(clubs["top"]),
        "by_position_group": _records(by_group),
        "by_age": _records(by_age),
        "potential_gaps": _records(gaps),
        "value_by_overall": _records(value_by_overall),
        "value_vs_overall": value_corr,
        # The scatter's value axis is logarithmic: players valued €0 cannot be drawn on it.
        "value_zero_players": totals["value_zero"],
        "value_missing_players": totals["value_missing"],
        "preferred_foot": {g: dict(zip(f["preferred_foot"], f["share"])) for g, f in foot.groupby("position_group")},
        "overall_distribution": {int(o): int(c) for o, c in zip(overall_hist["overall"], overall_hist["count"])},
        "skill_correlation_top": [{"a": a, "b": b, "r": r} for a, b, r in corr_rows[:10]],
        "skill_correlation_players": totals["skill_players"],
        "skill_correlation_excluded": totals["skill_excluded"],
        "skill_correlation_weakest": [{"a": a, "b": b, "r": r} for a, b, r in sorted(corr_rows, key=lambda t: abs(t[2]))[:5]],
        "comparison": comparison,
        "scatter_sample_size": int(sample.shape[0]),
        "scatter_plotted": plotted,
        "scatter_value_zero_excluded": int(sample.shape[0]) - plotted,
        "map_countries": int(countries.shape[0]),
        "map_unmapped_nations": unmapped,
    })

    # --- figures --------------------------------------------------------------------------
    by_count = nation_stats.sort_values(["players", "nationality"], ascending=[False, True])["nationality"].tolist()
    box_nations = by_count[: cfg.plot_nations]
    for n in [cfg.reference_nation, *cfg.compare_nations]:
        if n in by_count and n not in box_nations:
            box_nations.append(n)
    images = [
        ("overall_by_nation.png", "Overall by nation"),
        ("overall_hist.png", "Overall histogram"),
        ("age_curve.png", "Overall and Potential by age (ages with at least 10 players)"),
        ("skill_correlation.png", "Skill attribute correlations"),
    ]
    out.write_figure("overall_by_nation.png", plots.nation_boxplot(nation_hist, box_nations, cfg.reference_nation))
    out.write_figure("overall_hist.png", plots.overall_histogram(overall_hist))
    out.write_figure("age_curve.png", plots.age_curve(by_age, min_players=10))
    out.write_figure("skill_correlation.png", plots.correlation_heatmap(cols, matrix))
    pages = [
        ("value_vs_overall.html", f"Market value against Overall ({plotted:,} sampled players, names on hover; "
                                  f"{sample.shape[0] - plotted:,} valued €0 left off the log axis)"),
        ("nation_map.html", "World map of mean Overall by nation"),
    ]
    out.write_text("value_vs_overall.html", interactive.value_scatter_html(
        sample, f"Market value against Overall ({plotted:,} of {players_n:,} players; "
                f"{totals['value_zero']:,} valued €0 not drawn on the log axis)"))
    out.write_text("nation_map.html", interactive.nation_map_html(countries, "Mean Overall by nation (FIFA 19)"))
    out.write_text("report.html", html_report.render(metrics, images, pages))
    seconds = metrics["seconds"]
    seconds["total"] = round(time.perf_counter() - started, 3)
    seconds["analysis"] = round(seconds["total"] - seconds["players_pass"], 3)
    log.info("players pass %.1f s, analysis %.1f s", seconds["players_pass"], seconds["analysis"])
    out.write_json("metrics.json", metrics)

    q = metrics["quality"]
    ctx.report(f"fifa-report: {players_n:,} players kept of {q['rows_read']:,} rows; {q['rows_dropped']:,} dropped, "
               f"{q['values_rejected']:,} values rejected")
    ctx.report(comparison["sentence"])
    if len(by_nation):
        top = by_nation.iloc[0]
        ctx.report(f"best nation (>= {cfg.min_nation_players} players): {top['nationality']} mean Overall {top['mean_overall']:.2f}")
    ctx.report(f"report: {out.final_path('report.html')}")
