"""Labels and accuracy of plate readings, as DataFrame transformations.

A label comes from a labels CSV (``path,text[,note]``; its ``path`` is matched as a suffix of
the image path, so ``10.jpg`` and ``images/10.jpg`` both work) or, failing that, from a file
name that is itself a valid plate (``19오7777.jpg``). A non-empty ``note`` flags a label known
to be doubtful; accuracy is reported on all labels and without the flagged ones.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from sparkfolio.plates.labelnames import name_label_series, nfc_series


def _nfc_udf() -> Any:
    from pyspark.sql.functions import pandas_udf

    return pandas_udf(nfc_series, "string")  # type: ignore[call-overload]


def _name_label_udf() -> Any:
    from pyspark.sql.functions import pandas_udf

    return pandas_udf(name_label_series, "string")  # type: ignore[call-overload]


def basename(col: Column) -> Column:
    """The last path segment of a path or URI column."""
    return F.element_at(F.split(col, "/"), -1)


def normalize_labels(raw: DataFrame, source: str) -> DataFrame:
    """``path,text[,note]`` rows as ``label_path, label, note, label_valid`` (text NFC-normalised).

    Raises
    ------
    KeyError
        A required column is missing (the job turns it into an InputError naming the file).
    """
    cols = {c.lower().strip(): c for c in raw.columns}
    for needed in ("path", "text"):
        if needed not in cols:
            raise KeyError(needed)
    nfc = _nfc_udf()
    note = nfc(F.col(cols["note"])) if "note" in cols else F.lit(None).cast("string")
    out = raw.select(
        nfc(F.col(cols["path"])).alias("label_path"),
        nfc(F.col(cols["text"])).alias("label"),
        F.when(F.length(note) > 0, note).alias("note"),
    )
    return out.withColumn("label_source", F.lit(source))


def attach_labels(results: DataFrame, labels: DataFrame | None) -> DataFrame:
    """Add ``label``, ``label_source`` and ``flagged`` to each result row.

    A CSV label whose path is a suffix of the image path wins (the longest, most specific one
    when several match); otherwise a valid plate in the file name is the label.
    """
    name_label = _name_label_udf()
    base = results.withColumn("_base", basename(F.col("path")))
    if labels is not None:
        lab = labels.withColumn("_label_base", basename(F.col("label_path")))
        # The suffix test is part of the join condition, so an image whose base name matches only
        # labels of other folders keeps its row (with no label) without a second join: the
        # results are read once.
        suffix = (F.col("path").endswith(F.concat(F.lit("/"), F.col("label_path")))
                  | (F.col("path") == F.col("label_path")))
        joined = base.join(lab, (F.col("_base") == F.col("_label_base")) & suffix, how="left")
        w = Window.partitionBy("path").orderBy(F.length("label_path").desc_nulls_last(), F.col("label"))
        base = (joined.withColumn("_rank", F.row_number().over(w)).where(F.col("_rank") == 1)
                .drop("_rank", "_label_base"))
    else:
        base = (base.withColumn("label_path", F.lit(None).cast("string"))
                .withColumn("label", F.lit(None).cast("string"))
                .withColumn("note", F.lit(None).cast("string"))
                .withColumn("label_source", F.lit(None).cast("string")))
    from_name = name_label(F.col("path"))
    return (base
            .withColumn("label_source", F.when(F.col("label").isNotNull(), F.col("label_source"))
                        .when(from_name.isNotNull(), F.lit("file name")))
            .withColumn("label", F.coalesce(F.col("label"), from_name))
            .withColumn("flagged", F.col("note").isNotNull())
            .drop("_base", "label_path"))


def score(df: DataFrame) -> DataFrame:
    """Add ``exact`` and ``char_accuracy`` (1 - edit distance / label length, floored at 0).

    Both are null where there is no label. An unread image (no text) counts as wrong, with
    character accuracy 0 unless part of the label is matched by chance (it cannot be).
    """
    text = F.coalesce(F.col("text"), F.lit(""))
    lab = F.col("label")
    dist = F.levenshtein(text, lab)
    return (df
            .withColumn("exact", F.when(lab.isNotNull(), text == lab))
            .withColumn("char_accuracy", F.when(lab.isNotNull() & (F.length(lab) > 0),
                                                F.greatest(F.lit(0.0), 1.0 - dist / F.length(lab)))))


def accuracy_aggs() -> list[Column]:
    """Aggregations ``n``, ``labelled``, ``correct``, ``char_sum`` of scored rows, for any grouping.

    Rows without a label count in ``n`` only; :func:`summarise_accuracy` combines the groups.
    """
    labelled = F.col("label").isNotNull()
    return [F.count(F.lit(1)).alias("n"),
            F.sum(labelled.cast("int")).alias("labelled"),
            F.sum(F.when(labelled, F.col("exact").cast("int"))).alias("correct"),
            F.sum(F.when(labelled, F.col("char_accuracy"))).alias("char_sum")]


#: The grouping :func:`summarise_accuracy` needs (besides a caller's own keys).
ACCURACY_KEYS = ("label_source", "flagged")


def accuracy_parts(scored: DataFrame) -> DataFrame:
    """Per (label source, flag) group: ``n``, ``labelled``, ``correct``, ``char_sum`` (not collected).

    Rows without a label form groups with ``labelled`` 0, which :func:`summarise_accuracy`
    skips. A caller with its own grouping uses :func:`accuracy_aggs` and ``ACCURACY_KEYS``.
    """
    return scored.groupBy(*ACCURACY_KEYS).agg(*accuracy_aggs())


def summarise_accuracy(parts: list[Any]) -> dict[str, Any]:
    """Exact and character accuracy over all labelled rows, without flagged labels, per source.

    ``parts`` are the few rows of :func:`accuracy_parts` (anything indexable by its column names).
    """
    parts = [p for p in parts if int(p["labelled"] or 0) > 0]

    def combine(rows: list[Any]) -> dict[str, Any]:
        n = sum(int(r["labelled"]) for r in rows)
        correct = sum(int(r["correct"] or 0) for r in rows)
        chars = sum(float(r["char_sum"] or 0.0) for r in rows)
        return {"labelled": n, "correct": correct,
                "exact_accuracy": round(correct / n, 4) if n else None,
                "char_accuracy": round(chars / n, 4) if n else None}

    sources = sorted({r["label_source"] for r in parts})
    return {
        "all": combine(parts),
        "excluding_flagged": combine([r for r in parts if not r["flagged"]]),
        "by_label_source": {s: combine([r for r in parts if r["label_source"] == s]) for s in sources},
    }
