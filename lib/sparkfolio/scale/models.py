"""Models of scale defects: a seeded stratified split, a statsmodels Logit on a bounded sample, and
pyspark.ml tree models with cross-validated depth, all evaluated on the held-out plates in Spark.

Randomness comes from hashing ``plate_no`` with the seed rather than from ``rand()``: a plate lands
in the same split and fold however the input is partitioned, so a re-run on a different cluster
gives the same models.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkfolio.scale import schema

log = logging.getLogger(__name__)

OTHER = "(other)"
# |coefficient| on the standardised scale beyond which a Logit term is taken as running away to
# infinity (odds ratio e^12 per standard deviation or per level: no real process effect).
RUNAWAY_COEF = 12.0


# -- split ---------------------------------------------------------------------------------------
def unit_hash(seed: int, key: str = schema.ID) -> Column:
    """A uniform number in [0, 1) from the seed and the plate id (partitioning-independent)."""
    h = F.xxhash64(F.lit(int(seed)), F.col(key))
    return F.pmod(h, F.lit(1 << 40)).cast("double") / float(1 << 40)


def add_split(df: DataFrame, seed: int, test_fractions: dict[int, float], folds: int) -> DataFrame:
    """Add ``is_test`` (stratified per class: class c goes to test with probability
    ``test_fractions[c]``, as ``sampleBy`` does) and ``fold`` (0..folds-1) for cross-validation."""
    u = unit_hash(seed)
    is_test = F.lit(False)
    for cls, frac in sorted(test_fractions.items()):
        is_test = F.when(F.col(schema.LABEL) == cls, u < F.lit(float(frac))).otherwise(is_test)
    fold = F.pmod(F.xxhash64(F.lit(int(seed) + 1), F.col(schema.ID)), F.lit(int(folds))).cast("int")
    return df.withColumn("is_test", is_test).withColumn("fold", fold)


def stratified_sample(df: DataFrame, class_counts: dict[int, int], max_rows: int, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` plates, each class in its share of ``class_counts``, as pandas.

    Per class the plates with the smallest seeded hash are taken (a top-k, not a sort of all
    rows), so the sample is deterministic and bounded; all plates when there are few enough.
    """
    total = sum(class_counts.values())
    if total <= max_rows:
        return df.toPandas()
    u = unit_hash(seed + 2)
    parts = []
    for cls, n in sorted(class_counts.items()):
        k = int(round(max_rows * n / total))
        if k > 0:
            parts.append(df.where(F.col(schema.LABEL) == cls).withColumn("_u", u).orderBy("_u", schema.ID)
                         .limit(k).drop("_u").toPandas())
    return pd.concat(parts, ignore_index=True)


# -- Logit ---------------------------------------------------------------------------------------
@dataclass
class LogitResult:
    """A fitted Logit (coefficients in the data's units) and how to score new plates with it."""

    status: str
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # scoring: numeric terms, dummy terms (column, level), merged-level sets, forced rates.
    numeric_terms: dict[str, float] = field(default_factory=dict)
    dummy_terms: dict[tuple[str, str], float] = field(default_factory=dict)
    kept_levels: dict[str, list[str]] = field(default_factory=dict)
    forced: dict[tuple[str, str], float] = field(default_factory=dict)
    intercept: float = 0.0


def _levels_text(s: pd.Series) -> pd.Series:
    if s.dtype.kind == "f":
        return s.map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    return s.astype(str)


def fit_logit(sample: pd.DataFrame, numeric: list[str], categorical: list[str], max_levels: int,
              min_level_rows: int, max_refits: int = 5) -> LogitResult:
    """Fit ``scale ~ numeric + dummies(categorical)`` with statsmodels on the driver sample.

    * Levels with fewer than ``min_level_rows`` plates are merged into ``(other)``; columns with
      more than ``max_levels`` levels are left out (the trees use them).
    * A level whose plates are all defective (or all good) separates the outcome perfectly and has
      no finite coefficient; its plates are set aside (their predicted rate is that level's rate)
      and the model is fitted on the rest -- which is what the MLE of the other coefficients
      converges to anyway -- and the note says so.
    * Columns that add no rank (exact copies, constant columns) are dropped and noted.
    * Numeric columns are standardised for a well-conditioned fit; coefficients, standard errors
      and odds ratios are reported per unit of the column and odds ratios also per standard deviation.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    notes: list[str] = []
    data = sample.copy()
    y_all = data[schema.LABEL].astype(float)
    keep = np.ones(len(data), dtype=bool)
    forced: dict[tuple[str, str], float] = {}
    kept_levels: dict[str, list[str]] = {}
    cat_used: list[str] = []
    merged_cols: dict[str, pd.Series] = {}
    for c in categorical:
        lv = _levels_text(data[c])
        counts = lv.value_counts()
        if len(counts) > max_levels:
            notes.append(f"{c}: {len(counts)} levels (> logit_max_levels {max_levels}), left to the tree models")
            continue
        big = sorted(counts[counts >= min_level_rows].index.tolist())
        merged_cols[c] = lv.where(lv.isin(big), OTHER)
        kept_levels[c] = big
        cat_used.append(c)
    # Setting one separated level aside can separate another (its few defects were in the first),
    # so repeat until no level is all-defective or all-good among the plates left.
    changed = True
    while changed:
        changed = False
        for c in cat_used:
            rates = y_all[keep].groupby(merged_cols[c][keep]).mean()
            for level, rate in rates.items():
                if rate in (0.0, 1.0) and (c, str(level)) not in forced:
                    mask = (merged_cols[c] == level).to_numpy() & keep
                    forced[(c, str(level))] = float(rate)
                    keep &= ~mask
                    changed = True
                    notes.append(f"{c}='{schema.level_label(c, str(level))}': all {int(mask.sum())} plates left "
                                 f"{'defective' if rate == 1.0 else 'good'} (perfect separation); predicted "
                                 f"{rate:.0%} and left out of the fit")
    for c in cat_used:
        data[c] = merged_cols[c]
    data = data[keep]
    y = data[schema.LABEL].astype(float).to_numpy()
    if len(data) < 10 or len(np.unique(y)) < 2:
        return LogitResult(status="skipped", notes=notes + ["too few plates of both classes left to fit a Logit"])
    cols: dict[str, np.ndarray] = {}
    means: dict[str, float] = {}
    sds: dict[str, float] = {}
    for c in numeric:
        x = data[c].astype(float).to_numpy()
        sd = float(x.std(ddof=1)) if len(x) > 1 else 0.0
        if not sd > 0:
            notes.append(f"{c}: constant in the sample, left out")
            continue
        means[c], sds[c] = float(x.mean()), sd
        cols[c] = (x - means[c]) / sd
    dummy_of: dict[str, tuple[str, str]] = {}
    for c in cat_used:
        present = data[c].value_counts()
        if len(present) < 2:
            continue
        reference = sorted(present.index, key=lambda v: (-present[v], v))[0]
        for level in sorted(present.index):
            if level == reference:
                continue
            name = f"{c}[{schema.level_label(c, level)}]"
            cols[name] = (data[c] == level).to_numpy(dtype=float)
            dummy_of[name] = (c, level)
        notes.append(f"{c}: reference level '{schema.level_label(c, reference)}'")
    names = list(cols)
    X = np.column_stack([np.ones(len(data))] + [cols[n] for n in names]) if names else np.ones((len(data), 1))
    # Greedy rank check: a column that adds no rank is a linear copy of earlier ones.
    kept_idx = [0]
    for j in range(1, X.shape[1]):
        trial = kept_idx + [j]
        if np.linalg.matrix_rank(X[:, trial]) == len(trial):
            kept_idx.append(j)
        else:
            notes.append(f"{names[j - 1]}: a linear combination of other terms, left out")
    X = X[:, kept_idx]
    names = ["const"] + [names[j - 1] for j in kept_idx[1:]]
    flags = {"perfect_separation": False, "converged": False}
    res = None
    for _ in range(max_refits + 1):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = sm.Logit(y, X).fit(method="newton", maxiter=100, disp=0)
            except np.linalg.LinAlgError as exc:
                return LogitResult(status="failed", notes=notes + [f"singular design matrix: {exc}"])
        flags["perfect_separation"] = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
        flags["converged"] = bool(res.mle_retvals.get("converged", False)) and not any(
            issubclass(w.category, ConvergenceWarning) for w in caught)
        # A term whose standardised coefficient runs away (a combination of levels that separates
        # the outcome, e.g. T steel rolled conventionally: all good) has no finite estimate; drop
        # the worst such term and refit rather than report a meaningless number.
        b, se = np.asarray(res.params), np.asarray(res.bse)
        runaway = [j for j in range(1, X.shape[1]) if not np.isfinite(se[j]) or abs(b[j]) > RUNAWAY_COEF]
        if flags["converged"] and not flags["perfect_separation"] and not runaway:
            break
        if not runaway:
            break
        worst = max(runaway, key=lambda j: (not np.isfinite(se[j]), se[j] if np.isfinite(se[j]) else 0.0))
        notes.append(f"{names[worst]}: coefficient not identified (quasi-separation with other terms), left out")
        X = np.delete(X, worst, axis=1)
        del names[worst]
    assert res is not None
    if not flags["converged"]:
        notes.append("the Newton iterations did not converge: coefficients and p-values are unreliable")
    if flags["perfect_separation"]:
        notes.append("statsmodels reports (quasi-)perfect separation: some coefficients and p-values are unreliable")
    # Back to the data's units: x_std = (x - m) / s, so b_raw = b_std / s and the intercept shifts.
    k = len(names)
    A = np.eye(k)
    for j, n in enumerate(names):
        if n in sds:
            A[j, j] = 1.0 / sds[n]
            A[0, j] = -means[n] / sds[n]
    b_std = np.asarray(res.params)
    cov_std = np.asarray(res.cov_params())
    b_raw = A @ b_std
    se_raw = np.sqrt(np.clip(np.diag(A @ cov_std @ A.T), 0, None))
    z = b_raw / np.where(se_raw > 0, se_raw, np.nan)
    from scipy import stats as st

    p = 2 * st.norm.sf(np.abs(z))
    rows = []
    for j, n in enumerate(names):
        rows.append({
            "term": n, "coef": b_raw[j], "std_err": se_raw[j], "z": z[j], "p_value": p[j],
            "odds_ratio": _exp(b_raw[j]) if j else math.nan,
            "or_ci_low": _exp(b_raw[j] - 1.959964 * se_raw[j]) if j else math.nan,
            "or_ci_high": _exp(b_raw[j] + 1.959964 * se_raw[j]) if j else math.nan,
            "odds_ratio_per_sd": _exp(b_std[j]) if n in sds else math.nan,
        })
    coef = pd.DataFrame(rows)
    numeric_terms = {n: float(b_raw[j]) for j, n in enumerate(names) if n in sds}
    dummy_terms = {dummy_of[n]: float(b_raw[j]) for j, n in enumerate(names) if n in dummy_of}
    stats = {
        "n": int(len(y)), "defects": int(y.sum()), "pseudo_r2_mcfadden": float(res.prsquared),
        "log_likelihood": float(res.llf), "log_likelihood_null": float(res.llnull),
        "llr_p_value": float(res.llr_pvalue), "aic": float(res.aic), **flags,
    }
    return LogitResult(status="fitted", coefficients=coef, stats=stats, notes=notes, numeric_terms=numeric_terms,
                       dummy_terms=dummy_terms, kept_levels=kept_levels, forced=forced, intercept=float(b_raw[0]))


def _exp(x: float) -> float:
    """``exp`` that gives ``inf`` instead of raising for the huge coefficients of separated data."""
    if math.isnan(x):
        return math.nan
    return math.exp(x) if x < 709 else math.inf


def logit_score(fit: LogitResult, dtypes: dict[str, str]) -> Column:
    """The Logit's defect probability as a Spark expression (scores any number of plates in place)."""
    eta: Column = F.lit(fit.intercept)
    for c, b in fit.numeric_terms.items():
        eta = eta + F.lit(b) * F.col(c).cast("double")
    levels: dict[str, Column] = {c: _level(c, dtypes) for c in fit.kept_levels}
    for (c, level), b in fit.dummy_terms.items():
        lv = levels[c]
        if level == OTHER:
            hit = ~lv.isin(fit.kept_levels[c]) if fit.kept_levels[c] else F.lit(True)
        else:
            hit = lv == level
        eta = eta + F.when(hit, F.lit(b)).otherwise(F.lit(0.0))
    prob: Column = F.lit(1.0) / (F.lit(1.0) + F.exp(-eta))
    for (c, level), rate in fit.forced.items():
        lv = levels[c]
        hit = (~lv.isin(fit.kept_levels[c]) if fit.kept_levels[c] else F.lit(True)) if level == OTHER else lv == level
        prob = F.when(hit, F.lit(rate)).otherwise(prob)
    return prob


def _level(c: str, dtypes: dict[str, str]) -> Column:
    from sparkfolio.scale.aggregate import level_expr

    return level_expr(c, dtypes.get(c, "string"))


# -- tree models ---------------------------------------------------------------------------------
@dataclass
class Featurizer:
    """Column roles for the tree models and the fitted StringIndexer's level names."""

    numeric: list[str]
    categorical: list[str]
    labels: dict[str, list[str]]
    model: Any

    @property
    def feature_names(self) -> list[str]:
        """Names of the assembled vector's slots, in order."""
        return self.numeric + self.categorical


def fit_featurizer(train: DataFrame, numeric: list[str], categorical: list[str]) -> Featurizer:
    """Index categorical columns (alphabetical, unseen levels kept) and assemble ``features``.

    Indexed columns keep their nominal metadata in the vector, so the trees split them as
    categories ("hsb in {not applied}") rather than as numbers.
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import StringIndexer, VectorAssembler

    idx = [f"{c}__idx" for c in categorical]
    stages: list[Any] = []
    if categorical:
        stages.append(StringIndexer(inputCols=[f"{c}__str" for c in categorical], outputCols=idx,
                                    handleInvalid="keep", stringOrderType="alphabetAsc"))
    stages.append(VectorAssembler(inputCols=numeric + idx, outputCol="features", handleInvalid="error"))
    model = Pipeline(stages=stages).fit(with_string_levels(train, categorical))
    labels: dict[str, list[str]] = {}
    if categorical:
        for c, lv in zip(categorical, model.stages[0].labelsArray):
            labels[c] = [schema.level_label(c, v) for v in lv]
    return Featurizer(numeric, categorical, labels, model)


def with_string_levels(df: DataFrame, categorical: list[str]) -> DataFrame:
    """Add ``<c>__str``: each categorical column as level text (what the indexer reads)."""
    dtypes = dict(df.dtypes)
    for c in categorical:
        df = df.withColumn(f"{c}__str", _level(c, dtypes))
    return df


def cross_validated(kind: str, train: DataFrame, depths: list[int], folds: int, seed: int, max_bins: int,
                    rf_trees: int, gbt_iterations: int, parallelism: int) -> tuple[Any, list[float], int]:
    """Fit a ``tree``/``forest``/``gbt`` classifier, choosing ``maxDepth`` by k-fold AUC.

    Folds come from the ``fold`` column (hash of plate id), so they do not depend on partitioning.
    Returns the refitted best model, the mean AUC of each depth and the chosen depth.
    """
    from pyspark.ml.classification import DecisionTreeClassifier, GBTClassifier, RandomForestClassifier
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    common = {"featuresCol": "features", "labelCol": schema.LABEL, "maxBins": max_bins, "seed": seed}
    if kind == "tree":
        est = DecisionTreeClassifier(**common)
    elif kind == "forest":
        est = RandomForestClassifier(numTrees=rf_trees, **common)
    elif kind == "gbt":
        est = GBTClassifier(maxIter=gbt_iterations, stepSize=0.1, **common)
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    grid = ParamGridBuilder().addGrid(est.maxDepth, list(depths)).build()
    evaluator = BinaryClassificationEvaluator(labelCol=schema.LABEL, rawPredictionCol="rawPrediction",
                                              metricName="areaUnderROC")
    cv = CrossValidator(estimator=est, estimatorParamMaps=grid, evaluator=evaluator, numFolds=folds,
                        foldCol="fold", seed=seed, parallelism=parallelism)
    cvm = cv.fit(train)
    aucs = [float(a) for a in cvm.avgMetrics]
    best_depth = int(depths[int(np.argmax(aucs))])
    return cvm.bestModel, aucs, best_depth


def probability_of_defect() -> Column:
    """The defect probability of a pyspark.ml classifier's ``probability`` vector as a double."""
    from pyspark.ml.functions import vector_to_array

    return vector_to_array(F.col("probability"))[1]


def evaluate(scored: DataFrame, score: str, threshold: float = 0.5, roc_buckets: int = 200) -> dict[str, Any]:
    """AUC, accuracy, precision, recall, F1 and confusion matrix of ``score`` on labelled plates.

    The confusion matrix and ROC points come from grouped counts (per bucket of score), so the
    scored plates never reach the driver. AUC is Spark's exact ``areaUnderROC``.
    """
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    s = scored.select(F.col(schema.LABEL).cast("double").alias("label"), F.col(score).cast("double").alias("score"))
    auc = BinaryClassificationEvaluator(labelCol="label", rawPredictionCol="score",
                                        metricName="areaUnderROC").evaluate(s)
    bucket = F.least(F.floor(F.col("score") * roc_buckets), F.lit(roc_buckets - 1)).cast("int")
    counts = (s.groupBy("label", bucket.alias("b"), (F.col("score") >= threshold).alias("pred"))
              .count().toPandas())
    tp = int(counts[(counts.label == 1) & counts.pred]["count"].sum())
    fn = int(counts[(counts.label == 1) & ~counts.pred]["count"].sum())
    fp = int(counts[(counts.label == 0) & counts.pred]["count"].sum())
    tn = int(counts[(counts.label == 0) & ~counts.pred]["count"].sum())
    n = tp + fn + fp + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    roc = roc_points(counts.groupby(["label", "b"])["count"].sum().reset_index(), roc_buckets)
    return {
        "auc": float(auc), "accuracy": (tp + tn) / n if n else math.nan, "precision": precision,
        "recall": recall, "f1": f1, "threshold": threshold, "n": n,
        "confusion": {"true_negative": tn, "false_positive": fp, "false_negative": fn, "true_positive": tp},
        "roc": roc,
    }


def roc_points(counts: pd.DataFrame, buckets: int) -> dict[str, list[float]]:
    """ROC curve (false- and true-positive rates) from plate counts per (label, score bucket)."""
    pos = np.zeros(buckets)
    neg = np.zeros(buckets)
    for r in counts.itertuples():
        (pos if r.label == 1 else neg)[int(r.b)] += r.count
    tp = np.concatenate([[0], np.cumsum(pos[::-1])])
    fp = np.concatenate([[0], np.cumsum(neg[::-1])])
    tpr = tp / pos.sum() if pos.sum() else tp
    fpr = fp / neg.sum() if neg.sum() else fp
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist()}


def importances(model: Any, names: list[str]) -> dict[str, float]:
    """Feature importances of a fitted tree model by feature name (sums to 1)."""
    vec = model.featureImportances.toArray()
    return {n: float(v) for n, v in zip(names, vec)}
