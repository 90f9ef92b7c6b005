"""Spark side of the GTZAN jobs without files: genre expressions, the Arrow UDF, similarity, settings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from sparkfolio.gtzan.audio import genre_from_path
from sparkfolio.gtzan.features import SUMMARY_FEATURES, FeatureParams
from sparkfolio.gtzan.features_job import (
    FeaturesConfig,
    feature_params,
    plot_sample,
    summarise,
)
from sparkfolio.gtzan.plots import GENRE_PLOT_FEATURES
from sparkfolio.gtzan.similarity import feature_stats, top_k, unit_vectors
from sparkfolio.gtzan.spark_features import analysis_schema, clip_analyser, genre_column
from sparkfolio.gtzan.synth import synth_clip, wav_bytes
from sparkfolio.runtime.errors import ConfigError

PATHS = [
    "file:/data/gtzan/genres_original/blues/blues.00054.wav",
    "file:/data/trimmed_clips/HipHop.00012.au",
    "s3a://bucket/music/jazz/take_five.wav",
    "file:/x/rock.wav",
    "hdfs://nn/gtzan/reggae/reggae.00099.wav",
]


def test_genre_column_follows_the_python_rule(spark):
    df = spark.createDataFrame([(p,) for p in PATHS], "path string")
    got = df.select("path", genre_column(F.col("path")).alias("genre"))
    want = spark.createDataFrame([(p, genre_from_path(p)) for p in PATHS], "path string, genre string")
    assertDataFrameEqual(got, want)
    assert [genre_from_path(p) for p in PATHS] == ["blues", "hiphop", "jazz", "x", "reggae"]


def test_clip_analyser_emits_one_record_batch_per_file_in_the_declared_schema():
    from pyspark.sql.pandas.types import to_arrow_schema

    good = wav_bytes(synth_clip("disco", 1, duration_s=3.5), 22050)
    batch = pa.RecordBatch.from_pydict({
        "path": ["file:/g/disco/disco.00001.wav", "file:/g/jazz/jazz.00054.wav"],
        "content": pa.array([good, b""], pa.binary()),
    })
    fn = clip_analyser(FeatureParams(), plot_paths=["file:/g/disco/disco.00001.wav"])
    out = list(fn(iter([batch])))
    assert len(out) == 2
    assert all(b.schema.equals(to_arrow_schema(analysis_schema())) for b in out)
    ok, bad = out[0].to_pylist()[0], out[1].to_pylist()[0]
    assert (ok["status"], ok["n_segments"], ok["length"], len(ok["segments"][0]["mfcc"])) == ("ok", 1, 77175, 13)
    assert len(ok["segments"][0]["mfcc"][0]) == 130 and ok["waveform_png"][:4] == b"\x89PNG"
    assert (bad["status"], bad["error"], bad["size_bytes"], bad["waveform_png"]) == ("error", "empty file (0 bytes)", 0, None)


def _brute_force(x: np.ndarray, k: int) -> list[tuple[str, int, str, float]]:
    """Plain numpy reference: z-scores (population std), unit rows, cosine, top-k with name ties."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    z = np.where(std > 0, (x - mean) / np.where(std > 0, std, 1), 0.0)
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    sims = u @ u.T
    rows = []
    for i in range(len(x)):
        order = sorted((j for j in range(len(x)) if j != i), key=lambda j: (-sims[i, j], f"c{j:02d}"))
        rows += [(f"c{i:02d}", r + 1, f"c{j:02d}", float(sims[i, j])) for r, j in enumerate(order[:k])]
    return rows


def test_top_k_equals_a_numpy_brute_force(spark):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(23, 6)) * [1, 10, 100, 0.1, 5, 1]
    x[:, 4] = 3.0  # a constant feature must not break the standardisation
    x[7] = x[3]    # exact ties are broken by the neighbour's name
    names = [f"f{j}" for j in range(6)]
    df = spark.createDataFrame([(f"c{i:02d}", *map(float, row)) for i, row in enumerate(x)],
                               "path string, " + ", ".join(f"{n} double" for n in names))
    stats = feature_stats(df, names)
    assert stats["f4"] == (3.0, 0.0)
    assert stats["f2"] == pytest.approx((x[:, 2].mean(), x[:, 2].std()))
    units = unit_vectors(df, names, stats)
    got = top_k(units, 4, partitions=3)
    want = spark.createDataFrame(_brute_force(x, 4), "path string, rank int, neighbour_path string, cosine double")
    assertDataFrameEqual(got, want, checkRowOrder=False, rtol=1e-9, atol=1e-12)


def test_top_k_limits_each_partition_before_sorting(spark):
    df = spark.createDataFrame([(f"c{i}", [1.0, float(i)]) for i in range(5)], "path string, u array<double>")
    plan = top_k(df, 2, partitions=2)._jdf.queryExecution().executedPlan().toString()
    # Spark keeps the per-clip top-k inside each block: no shuffle of all pairs.
    assert "WindowGroupLimit" in plan and "BroadcastNestedLoopJoin" in plan


def test_unit_vectors_are_null_for_a_clip_at_the_mean(spark):
    df = spark.createDataFrame([("a", 1.0, 2.0), ("b", 3.0, 4.0), ("m", 2.0, 3.0)], "path string, x double, y double")
    units = {r.path: r.u for r in unit_vectors(df, ["x", "y"], feature_stats(df, ["x", "y"])).collect()}
    assert units["m"] is None
    assert units["a"] == pytest.approx([-2 ** -0.5, -2 ** -0.5]) and units["b"] == pytest.approx([2 ** -0.5, 2 ** -0.5])


def test_settings_helpers():
    assert feature_params(FeaturesConfig()).segment_samples == 66150
    with pytest.raises(ConfigError, match="hop_length"):
        feature_params(FeaturesConfig(hop_length=0))
    with pytest.raises(ConfigError, match="shorter than n_fft"):
        feature_params(FeaturesConfig(segments_per_30s=1000))
    assert len(SUMMARY_FEATURES) == 57


def test_plot_sample_takes_the_first_clips_of_each_genre():
    paths = ["file:/d/rock/rock.00001.wav", "file:/d/rock/rock.00000.wav", "file:/d/jazz/jazz.00003.wav",
             "file:/d/blues/blues.00002.wav", "file:/d/blues/blues.00000.wav"]
    assert plot_sample(paths, 1, 20) == ["file:/d/blues/blues.00000.wav", "file:/d/jazz/jazz.00003.wav",
                                         "file:/d/rock/rock.00000.wav"]
    assert plot_sample(paths, 2, 4) == ["file:/d/blues/blues.00000.wav", "file:/d/jazz/jazz.00003.wav",
                                        "file:/d/rock/rock.00000.wav", "file:/d/blues/blues.00002.wav"]
    assert plot_sample(paths, 0, 20) == [] and plot_sample(paths, 1, 0) == []


def test_summarise_turns_group_rows_into_job_figures():
    feats = {c: None for c in GENRE_PLOT_FEATURES}
    groups = [
        {"genre": "rock", "status": "ok", "error": None, "n": 3, "segments": 30, "audio_s": 90.0, "work_s": 6.0,
         **feats, "tempo": 120.0},
        {"genre": "jazz", "status": "ok", "error": None, "n": 1, "segments": 9, "audio_s": 29.0, "work_s": 2.0,
         **feats, "tempo": 90.0},
        {"genre": "jazz", "status": "error", "error": "empty file (0 bytes)", "n": 2, "segments": None,
         "audio_s": None, "work_s": None, **feats},
        {"genre": "rock", "status": "error", "error": "empty file (0 bytes)", "n": 1, "segments": None,
         "audio_s": None, "work_s": 0.5, **feats},
    ]
    s = summarise(groups)
    assert {k: s[k] for k in ("files", "ok", "rejected", "segments", "audio_s", "work_s")} == {
        "files": 7, "ok": 4, "rejected": 3, "segments": 39, "audio_s": 119.0, "work_s": 8.5}
    assert s["reject_reasons"] == {"empty file (0 bytes)": 3}
    assert [(g["genre"], g["clips"], g["segments"], g["tempo"]) for g in s["genres"]] == [
        ("jazz", 1, 9, 90.0), ("rock", 3, 30, 120.0)]


def test_clip_matches_path_suffix_name_and_stem(spark):
    from sparkfolio.gtzan.similar_job import clip_matches

    df = spark.createDataFrame([("file:/a/genres/blues/blues.00000.wav", "blues.00000.wav"),
                                ("file:/a/trimmed/blues.00000.wav", "blues.00000.wav"),
                                ("file:/a/genres/rock/rock.00001.wav", "rock.00001.wav")], "path string, file_name string")

    def found(clip: str) -> list[str]:
        return sorted(r.path for r in clip_matches(df, clip).collect())

    assert found("rock.00001") == found("rock.00001.wav") == found("rock/rock.00001.wav") == [
        "file:/a/genres/rock/rock.00001.wav"]
    assert found("file:/a/genres/rock/rock.00001.wav") == ["file:/a/genres/rock/rock.00001.wav"]
    assert len(found("blues.00000.wav")) == 2 and found("trimmed/blues.00000.wav") == ["file:/a/trimmed/blues.00000.wav"]
    assert found("00001") == []


def test_genre_pair_summary():
    from sparkfolio.gtzan.similar_job import genre_pair_summary

    agreement, matrix = genre_pair_summary([("rock", "rock", 6), ("rock", "metal", 2), ("metal", "rock", 3),
                                            ("metal", "metal", 1), ("jazz", "rock", 4)])
    assert agreement == {"overall": pytest.approx(7 / 16), "per_genre": {"jazz": 0.0, "metal": 0.25, "rock": 0.75}}
    assert list(matrix.index) == list(matrix.columns) == ["jazz", "metal", "rock"]
    assert matrix.loc["rock"].tolist() == [0.0, 0.25, 0.75] and matrix.loc["jazz"].tolist() == [0.0, 0.0, 1.0]
    assert genre_pair_summary([])[0] == {"overall": None, "per_genre": {}}
