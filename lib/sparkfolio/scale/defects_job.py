"""``scale-defects``: find the causes of steel-plate scale defects.

Reads the course CSV (either column variant, CP949 or UTF-8), rejects bad rows with a reason, then
-- with Spark aggregations only -- computes defect rates per category with Wilson intervals, numeric
columns by defect status with Welch tests, rates over temperature and time bins, chi-square tests
and ranked plain-words findings; fits a statsmodels Logit on a bounded sample and cross-validated
pyspark.ml tree models; writes tables, metrics.json, plots, the tree as DOT/PNG and report.html.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from sparkfolio.runtime.config import config_to_dict
from sparkfolio.runtime.errors import ConfigError, DataQualityError, DependencyError, InputError
from sparkfolio.runtime.inputs import list_input_files
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput
from sparkfolio.scale import aggregate as A
from sparkfolio.scale import findings as FN
from sparkfolio.scale import models as M
from sparkfolio.scale import parse as P
from sparkfolio.scale import schema
from sparkfolio.scale import source as SRC
from sparkfolio.scale import stats as S

log = logging.getLogger(__name__)


# Config name -> pyspark.ml estimator kind.
TREE_MODELS: dict[str, str] = {"decision_tree": "tree", "random_forest": "forest", "gradient_boosted_trees": "gbt"}


@dataclass
class ColumnMaps:
    """``canonical name -> column in the file`` for each known variant (all mapped columns required)."""

    lower: dict[str, str] = field(default_factory=lambda: dict(schema.LOWER_COLUMNS))
    upper: dict[str, str] = field(default_factory=lambda: dict(schema.UPPER_COLUMNS))


def _default_ranges() -> dict[str, list[float]]:
    # Physically possible values; anything outside is a sensor or entry error (the real file has
    # six plates with rolling_temp 0) and is rejected with the reason, not averaged away.
    return {
        "pt_thick": [1, 500], "pt_width": [300, 6000], "pt_length": [500, 100000],
        "fur_heat_temp": [800, 1400], "fur_soak_temp": [800, 1400], "fur_ex_temp": [800, 1400],
        "fur_heat_time": [1, 1440], "fur_soak_time": [1, 1440], "fur_total_time": [1, 2880],
        "rolling_temp": [600, 1300], "descaling_count": [0, 50],
    }


@dataclass
class DefectsConfig:
    """Settings of ``scale-defects`` (defaults mirror ``conf/scale_defects.yaml``)."""

    encoding: str = "auto"                      # auto (UTF-8, else CP949), utf-8, cp949, euc-kr
    variant: str = "auto"                       # auto, lower, upper
    columns: ColumnMaps = field(default_factory=ColumnMaps)
    labels: dict[str, dict[str, int]] = field(default_factory=lambda: {k: dict(v) for k, v in schema.DEFAULT_LABELS.items()})
    timestamp_format: str = "ddMMMyyyy:HH:mm:ss"
    steel_kind_major_class: bool = True
    steel_kind_classes: list[str] = field(default_factory=lambda: list(schema.STEEL_KIND_CLASSES))
    valid_ranges: dict[str, list[float]] = field(default_factory=_default_ranges)
    reject_duplicates: bool = True
    max_reject_fraction: float = 0.05
    categorical_columns: list[str] = field(default_factory=lambda: [
        "hsb", "steel_kind", "spec_long", "spec_country", "rolling_method", "fur_no", "fur_input_row",
        "work_group", "descaling_count"])
    numeric_columns: list[str] = field(default_factory=lambda: [
        "pt_thick", "pt_width", "pt_length", "pt_weight", "fur_heat_temp", "fur_heat_time", "fur_soak_temp",
        "fur_soak_time", "fur_total_time", "fur_ex_temp", "rolling_temp", "descaling_count"])
    bin_widths: dict[str, float] = field(default_factory=lambda: {
        "fur_heat_temp": 10.0, "fur_soak_temp": 5.0, "fur_ex_temp": 5.0, "rolling_temp": 25.0,
        "fur_heat_time": 10.0, "fur_soak_time": 10.0, "fur_total_time": 20.0})
    auto_bins: int = 20
    alpha: float = 0.05
    min_group_size: int = 20
    min_effect: float = 0.1
    max_recommendations: int = 6
    seed: int = 42
    test_fraction: float = 0.3
    cv_folds: int = 3
    max_depths: list[int] = field(default_factory=lambda: [3, 5, 7])
    models: list[str] = field(default_factory=lambda: list(TREE_MODELS))
    logit: bool = True
    rf_trees: int = 50
    gbt_iterations: int = 30
    cv_parallelism: int = 2
    max_bins: int = 32
    logit_max_rows: int = 200000
    logit_max_levels: int = 10
    logit_min_level_rows: int = 20
    require_graphviz: bool = False
    tree_font: str = "NanumGothic"
    write_plates: bool = True
    head_bytes: int = 65536
    partition_bytes: int = field(default=32 << 20, metadata={
        "help": "CSV bytes per partition of the parsed rows after the duplicate check"})


def _check(cfg: DefectsConfig) -> None:
    if not 0 < cfg.test_fraction < 1:
        raise ConfigError(f"test_fraction must be between 0 and 1, got {cfg.test_fraction}")
    if cfg.cv_folds < 2:
        raise ConfigError(f"cv_folds must be at least 2, got {cfg.cv_folds}")
    if not cfg.max_depths or any(d < 1 for d in cfg.max_depths):
        raise ConfigError(f"max_depths must be a list of depths >= 1, got {cfg.max_depths}")
    unknown = [m for m in cfg.models if m not in TREE_MODELS]
    if unknown:
        raise ConfigError(f"models: unknown {', '.join(unknown)} (known: {', '.join(TREE_MODELS)})")
    if cfg.logit_max_rows < 100:
        raise ConfigError(f"logit_max_rows must be at least 100, got {cfg.logit_max_rows}")
    if not 0 <= cfg.max_reject_fraction <= 1:
        raise ConfigError(f"max_reject_fraction must be between 0 and 1, got {cfg.max_reject_fraction}")
    for c, r in cfg.valid_ranges.items():
        if len(r) != 2 or r[0] > r[1]:
            raise ConfigError(f"valid_ranges.{c} must be [low, high], got {r}")
    for c, w in cfg.bin_widths.items():
        if not w > 0:
            raise ConfigError(f"bin_widths.{c} must be positive, got {w}")
    for name in ("scale", "hsb"):
        if name not in cfg.labels:
            raise ConfigError(f"labels.{name} is missing (e.g. {schema.DEFAULT_LABELS[name]})")


DATA_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".txt", ".txt.gz")


def data_files(files: list[Any]) -> list[Any]:
    """The CSV files among ``files`` (a generator output folder also holds metrics.json); all when none
    has a CSV-like name, so an oddly named single file still works."""
    csv = [f for f in files if f.name.lower().endswith(DATA_SUFFIXES)]
    return csv or files


def parsed_partitions(input_bytes: int, partition_bytes: int, minimum: int) -> int:
    """Partitions for the parsed rows: one per ``partition_bytes`` of CSV, at least ``minimum``.

    The duplicate check shuffles every parsed row (typed values plus the raw strings kept for the
    rejects); a fixed shuffle width would make each sort and each written file grow with the input.
    """
    return max(minimum, -(-input_bytes // max(1, partition_bytes)))


def run(ctx: JobContext) -> None:
    """Run the causes analysis on ``ctx.input`` and publish everything to ``ctx.output``."""
    cfg: DefectsConfig = ctx.config
    _check(cfg)
    spark = ctx.spark
    started = time.perf_counter()
    files = data_files(list_input_files(spark, ctx.input))
    variants = {"lower": cfg.columns.lower, "upper": cfg.columns.upper}
    src = SRC.probe(spark, files, cfg.encoding, cfg.variant, variants, head_bytes=cfg.head_bytes)
    if src.java_charset.upper() not in SRC.SPARK_NATIVE_CHARSETS:
        # Spark 4 only accepts the Unicode/Latin-1 charsets unless this legacy switch is on.
        spark.conf.set("spark.sql.legacy.javaCharsets", "true")
    present = list(src.columns)
    missing_core = [c for c in schema.CORE_COLUMNS if c not in present]
    if missing_core:
        raise ConfigError(f"the column map of variant {src.variant!r} lacks {', '.join(missing_core)}")

    raw = P.read_raw(spark, [f.path for f in files], src.header, src.java_charset)
    typed = P.canonicalize(P.rename_to_canonical(raw, src.columns), present, cfg.labels, cfg.timestamp_format,
                           cfg.valid_ranges, cfg.steel_kind_major_class, cfg.steel_kind_classes)
    if cfg.reject_duplicates:
        typed = P.flag_duplicates(typed, parsed_partitions(sum(f.size for f in files), cfg.partition_bytes,
                                                          spark.sparkContext.defaultParallelism))
    with JobOutput(spark, ctx.output) as out:
        # The parsed rows are written once as Parquet inside the (unpublished) staging folder and
        # read back by every later step, rather than cached: at 10M rows the cached blocks
        # outgrew a 4 GB heap when read back from disk (docs/bench/tabular.md). The row totals
        # ride along that write.
        observation = Observation("scale_rows")
        parsed_path = out.scratch_path("parsed")
        typed.observe(observation, F.count(F.lit(1)).alias("rows"), F.count_if(~P.is_valid()).alias("bad")) \
            .write.mode("overwrite").parquet(parsed_path)
        totals = observation.get
        _analyse(ctx, cfg, spark.read.parquet(parsed_path), int(totals["rows"]), int(totals["bad"] or 0),
                 present, src, files, started, out)


def _analyse(ctx: JobContext, cfg: DefectsConfig, typed: DataFrame, rows: int, bad: int, present: list[str],
             src: SRC.SourceInfo, files: list[Any], started: float, out: JobOutput) -> None:
    spark = ctx.spark
    if rows == 0:
        raise InputError(f"{ctx.input}: no data rows")
    plates, rejects = P.split_valid(typed, present)
    reasons = P.reject_reason_counts(rejects).toPandas()
    log.info("parsed %d rows, %d rejected (%.1f s)", rows, bad, time.perf_counter() - started)
    metrics: dict[str, Any] = {
        "job": "scale-defects",
        "input": {"path": ctx.input, "files": len(files), "bytes": sum(f.size for f in files),
                  "encoding": src.encoding, "variant": src.variant, "columns_present": present},
        "rows": {"read": rows, "valid": rows - bad, "rejected": bad, "reject_fraction": bad / rows,
                 "reject_reasons": {r.reason_kind: int(r.count) for r in reasons.itertuples()}},
        "config": config_to_dict(cfg),
    }
    out.write_table("rejects", rejects)
    if bad / rows > cfg.max_reject_fraction:
        out.write_json("metrics.json", metrics)
        out.keep_only(["rejects", "metrics.json"])
        raise DataQualityError(
            f"{ctx.input}: {bad} of {rows} rows rejected ({bad / rows:.1%} > max_reject_fraction "
            f"{cfg.max_reject_fraction:.1%}); most common: {reasons.iloc[0]['reason_kind']} - see the rejects table")
    # The typed plates, written once (published as "plates", or as scratch) and read back: Parquet
    # with column pruning serves the many small aggregations as well as a cache, at any size.
    if cfg.write_plates:
        plates_path = out.write_table("plates", plates)
    else:
        plates_path = out.scratch_path("plates")
        plates.write.mode("overwrite").parquet(plates_path)
    _causes(ctx, cfg, spark.read.parquet(plates_path), present, metrics, out)
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    out.write_json("metrics.json", metrics)
    top = metrics["findings"][:3]
    ctx.report(f"scale-defects: {rows - bad} plates analysed, {bad} rejected; defect rate "
               f"{metrics['defect_rate']['rate']:.1%}; output {ctx.output}")
    for f in top:
        ctx.report(f"  #{f['rank']} {f['text']}")
    for name, m in metrics.get("models", {}).items():
        ctx.report(f"  {name}: test AUC {m['test']['auc']:.3f}, accuracy {m['test']['accuracy']:.3f}, F1 {m['test']['f1']:.3f}")


def _causes(ctx: JobContext, cfg: DefectsConfig, plates: DataFrame, present: list[str], metrics: dict[str, Any],
            out: JobOutput) -> None:
    spark = ctx.spark
    cats = [c for c in cfg.categorical_columns if c in present]
    nums = [c for c in cfg.numeric_columns if c in present]
    skipped = sorted(set(cfg.categorical_columns + cfg.numeric_columns) - set(present))
    if skipped:
        log.info("variant %s has no %s; skipped", metrics["input"]["variant"], ", ".join(skipped))
    class_rows = plates.groupBy(schema.LABEL).count().collect()
    class_counts = {int(r[schema.LABEL]): int(r["count"]) for r in class_rows}
    n = sum(class_counts.values())
    k = class_counts.get(1, 0)
    if class_counts.get(0, 0) == 0 or k == 0:
        out.write_json("metrics.json", metrics)
        out.keep_only(["rejects", "metrics.json"])
        raise DataQualityError(f"{ctx.input}: all {n} valid plates are {'defective' if k else 'good'}; "
                               "finding causes needs both good and defective plates")
    lo, hi = S.wilson(k, n)
    metrics["defect_rate"] = {"plates": n, "defects": k, "rate": k / n, "ci_low": lo, "ci_high": hi}

    # -- aggregations (all in Spark; small results only) --------------------------------------
    cat_counts = A.category_counts(plates, cats)
    moments = A.moments_by_status(plates, nums)
    widths = A.bin_widths(nums, cfg.bin_widths, moments, cfg.auto_bins)
    bins = A.bin_counts(plates, widths)
    corr = A.correlations(plates.withColumn(schema.LABEL, F.col(schema.LABEL).cast("double")), nums + [schema.LABEL])
    dups = A.duplicate_columns(corr.loc[nums, nums])
    summary = FN.summarise(cat_counts, moments, bins, cfg.alpha, cfg.min_group_size, cfg.min_effect,
                           cfg.max_recommendations, dups)
    log.info("aggregations and tests done: %d findings, %d significant", len(summary.findings),
             int(summary.findings["significant"].sum()) if len(summary.findings) else 0)
    metrics["category_rates"] = summary.category_rates.to_dict("records")
    metrics["numeric_by_status"] = summary.numeric_by_status.to_dict("records")
    metrics["binned_rates"] = summary.binned_rates.to_dict("records")
    metrics["bin_widths"] = widths
    metrics["chi_square"] = summary.chi_square.to_dict("records")
    metrics["findings"] = summary.findings.to_dict("records")
    metrics["recommendations"] = summary.recommendations
    metrics["correlation"] = {c: corr[c].to_dict() for c in corr.columns}
    metrics["duplicate_columns"] = dups

    # -- models --------------------------------------------------------------------------------
    model_nums = [c for c in nums if c not in dups]
    model_cats = [c for c in cats if c not in nums]
    model_out = _models(ctx, cfg, plates, class_counts, model_nums, model_cats, out)
    metrics.update(model_out["metrics"])

    # -- tables, plots, report -----------------------------------------------------------------
    for name, table in (("category_rates", summary.category_rates), ("numeric_by_status", summary.numeric_by_status),
                        ("binned_rates", summary.binned_rates), ("chi_square", summary.chi_square),
                        ("findings", summary.findings), ("logit_coefficients", model_out["logit_coefficients"]),
                        ("model_metrics", model_out["model_table"]), ("feature_importances", model_out["importances"])):
        if table is not None and not table.empty:  # e.g. no Logit or no tree models configured
            out.write_table(name, _small_df(spark, table))
    log.info("tables written")
    figures = _plots(out, summary, corr, nums, cfg, metrics, model_out)
    metrics["figures"] = figures
    from sparkfolio.scale.report import FIGURES, render_report

    out.write_text("report.html", render_report(metrics, tuple((n, t) for n, t in FIGURES if n in figures)))


def _models(ctx: JobContext, cfg: DefectsConfig, plates: DataFrame, class_counts: dict[int, int],
            nums: list[str], cats: list[str], out: JobOutput) -> dict[str, Any]:
    """Split, fit and evaluate the Logit and the three tree models; export the decision tree."""
    if not cfg.logit and not cfg.models:
        return {"metrics": {"logit": {"status": "disabled"}, "models": {},
                            "tree": {"dot_written": False, "png_rendered": False,
                                     "png_skipped_reason": "decision_tree not in models"}},
                "logit_coefficients": pd.DataFrame(), "model_table": pd.DataFrame(),
                "importances": pd.DataFrame(), "evals": {}, "imps": {}}
    split = M.add_split(plates, cfg.seed, {0: cfg.test_fraction, 1: cfg.test_fraction}, cfg.cv_folds)
    split = split.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        train = split.where(~F.col("is_test"))
        test = split.where(F.col("is_test"))
        counts = {(bool(r["is_test"]), int(r[schema.LABEL])): int(r["count"])
                  for r in split.groupBy("is_test", schema.LABEL).count().collect()}
        train_counts = {c: counts.get((False, c), 0) for c in (0, 1)}
        test_counts = {c: counts.get((True, c), 0) for c in (0, 1)}
        if min(train_counts.values()) < cfg.cv_folds or min(test_counts.values()) == 0:
            raise DataQualityError(f"{ctx.input}: too few plates to split for models "
                                   f"(train {train_counts}, test {test_counts}); need both classes in both")
        metrics: dict[str, Any] = {"split": {"train": sum(train_counts.values()), "test": sum(test_counts.values()),
                                             "train_defects": train_counts[1], "test_defects": test_counts[1],
                                             "method": "stratified per class by a seeded hash of plate_no"}}
        # Logit on a bounded stratified sample of the training plates.
        if cfg.logit:
            sample = M.stratified_sample(train.select(schema.LABEL, schema.ID, *nums, *cats), train_counts,
                                         cfg.logit_max_rows, cfg.seed)
            fit = M.fit_logit(sample, nums, cats, cfg.logit_max_levels, cfg.logit_min_level_rows)
        else:
            sample, fit = pd.DataFrame(), M.LogitResult(status="disabled")
        logit_metrics: dict[str, Any] = {"status": fit.status, "sample_rows": int(len(sample)), "notes": fit.notes,
                                         **fit.stats, "coefficients": fit.coefficients.to_dict("records")}
        evals: dict[str, dict[str, Any]] = {}
        if fit.status == "fitted":
            scored = test.withColumn("p_logit", M.logit_score(fit, dict(test.dtypes)))
            logit_metrics["test"] = M.evaluate(scored, "p_logit")
            evals["logit"] = logit_metrics["test"]
        metrics["logit"] = logit_metrics
        log.info("logit %s on %d plates", fit.status, len(sample))

        models: dict[str, Any] = {}
        imps: dict[str, dict[str, float]] = {}
        metrics["tree"] = {"dot_written": False, "png_rendered": False,
                           "png_skipped_reason": "decision_tree not in models"}
        if cfg.models:
            feat = M.fit_featurizer(train, nums, cats)
            max_levels = max([len(v) for v in feat.labels.values()] or [0]) + 1
            max_bins = max(cfg.max_bins, max_levels)
            train_f = feat.model.transform(M.with_string_levels(train, cats)).select("features", schema.LABEL, "fold")
            test_f = feat.model.transform(M.with_string_levels(test, cats)).select("features", schema.LABEL)
            train_f = train_f.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                tree_model = None
                for name in cfg.models:
                    kind = TREE_MODELS[name]
                    t0 = time.perf_counter()
                    model, aucs, depth = M.cross_validated(kind, train_f, cfg.max_depths, cfg.cv_folds, cfg.seed,
                                                           max_bins, cfg.rf_trees, cfg.gbt_iterations,
                                                           cfg.cv_parallelism)
                    pred = model.transform(test_f).withColumn("p", M.probability_of_defect())
                    ev = M.evaluate(pred, "p")
                    imps[name] = M.importances(model, feat.feature_names)
                    models[name] = {"best_max_depth": depth,
                                    "cv_auc_by_depth": dict(zip(map(str, cfg.max_depths), aucs)),
                                    "test": ev, "importances": imps[name],
                                    "seconds": round(time.perf_counter() - t0, 1)}
                    evals[name] = ev
                    if kind == "tree":
                        tree_model = model
                    log.info("%s: depth %d, CV AUC %s, test AUC %.3f", name, depth, aucs, ev["auc"])
            finally:
                train_f.unpersist()
            metrics["features"] = {"numeric": nums, "categorical": cats, "max_bins": max_bins}
            if tree_model is not None:
                metrics["tree"] = _export_tree(cfg, tree_model, feat, out)
        metrics["models"] = models
    finally:
        split.unpersist()
    table = pd.DataFrame([{"model": k, "auc": v["auc"], "accuracy": v["accuracy"], "precision": v["precision"],
                           "recall": v["recall"], "f1": v["f1"], **v["confusion"]} for k, v in evals.items()])
    imp_table = pd.DataFrame([{"model": m, "feature": f, "importance": v} for m, d in imps.items() for f, v in d.items()])
    return {"metrics": metrics, "logit_coefficients": fit.coefficients, "model_table": table,
            "importances": imp_table, "evals": evals, "imps": imps}


def _export_tree(cfg: DefectsConfig, model: Any, feat: M.Featurizer, out: JobOutput) -> dict[str, Any]:
    """Write the decision tree as DOT and, with Graphviz's ``dot``, as PNG.

    Without ``dot`` the PNG is skipped with a warning and ``png_rendered: false`` in the metrics
    (the DOT file is always there); ``require_graphviz: true`` makes it an error instead.
    """
    from sparkfolio.scale import tree_export as TE

    tree = TE.tree_to_dict(model)
    dot = TE.tree_to_dot(tree, feat.feature_names, feat.labels, font=cfg.tree_font)
    out.write_text("decision_tree.dot", dot)
    info: dict[str, Any] = {"dot_written": True, "png_rendered": False, "depth": int(model.depth),
                            "num_nodes": int(model.numNodes)}
    if TE.dot_binary() is None:
        msg = "Graphviz 'dot' not found: install graphviz (apt-get install graphviz) to render decision_tree.png"
        if cfg.require_graphviz:
            raise DependencyError(msg)
        log.warning("%s; decision_tree.dot is written, the PNG is skipped", msg)
        info["png_skipped_reason"] = "dot not installed"
        return info
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "decision_tree.png")
        TE.render_png(dot, png)
        out.write_local_file("decision_tree.png", png)
    info["png_rendered"] = True
    return info


def _plots(out: JobOutput, summary: FN.Summary, corr: pd.DataFrame, nums: list[str], cfg: DefectsConfig,
           metrics: dict[str, Any], model_out: dict[str, Any]) -> list[str]:
    """Draw the figures from the small tables; returns the names written (the tree PNG included)."""
    import matplotlib

    from sparkfolio.scale import plots as PL

    written: list[str] = []

    def put(name: str, fig: Any) -> None:
        out.write_figure(name, fig)
        written.append(name)

    # The Korean font only for these figures: matplotlib's global settings stay untouched.
    with matplotlib.rc_context(PL.korean_font_rc()):
        put("rate_by_category.png", PL.rate_by_category(summary.category_rates, metrics["defect_rate"]["rate"]))
        binned = [c for c in nums if c in cfg.bin_widths]
        if binned:
            put("binned_rates.png", PL.binned_rates(summary.binned_rates, binned))
        put("distributions_by_status.png", PL.distributions_by_status(summary.binned_rates, nums))
        put("correlation_heatmap.png", PL.correlation_heatmap(corr))
        if model_out["imps"]:
            put("feature_importance.png", PL.feature_importances(model_out["imps"]))
        if model_out["evals"]:
            put("roc_curves.png", PL.roc_curves(model_out["evals"]))
    if metrics.get("tree", {}).get("png_rendered"):
        written.append("decision_tree.png")
    return written


def _small_df(spark: Any, table: pd.DataFrame) -> DataFrame:
    """A small driver-side table as a Spark DataFrame (missing values in text columns as nulls)."""
    clean = table.copy()
    for c in clean.columns:
        if clean[c].dtype == object:
            clean[c] = clean[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return spark.createDataFrame(clean)
