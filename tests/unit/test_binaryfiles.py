"""Packing whole files into Spark tasks (runtime.binaryfiles), and reading them with the packing applied."""

from __future__ import annotations

from pathlib import Path

from sparkfolio.runtime.binaryfiles import (
    MAX_PARTITION_KEY,
    MIN_PARTITIONS_KEY,
    binary_files,
    extension_glob,
    has_extension,
    pack_files,
    plan_packing,
)

CLIP, COST = 1_323_632, 4 * 2**20


def test_extension_glob_and_has_extension_agree_in_any_case():
    assert extension_glob(["wav", ".AU"]) == "*.{[aA][uU],[wW][aA][vV]}"
    assert extension_glob(["mp3"]) == "*.[mM][pP]3"
    assert [has_extension(n, ["wav", ".AU"]) for n in ("a.WAV", "b.au", "c.Au", "wav", "d.wav.txt", "e.mp3")] == [
        True, True, True, False, False, False]


def test_pack_files_packs_like_spark_largest_first():
    # Largest first; a task closes when the next file would take it over the limit.
    assert pack_files([1, 5, 3, 2], 7, 1) == [[5], [3, 2], [1]]
    assert pack_files([4, 4, 4], 100, 0) == [[4, 4, 4]]


def test_plan_packing_fits_files_per_task_on_one_core():
    # 4 files of ~1.3 MB with Spark's 4 MB open cost per file fit under the limit, a 5th does not.
    limit = plan_packing([CLIP] * 10, 4, COST, 1).max_bytes
    assert 4 * CLIP + 3 * COST <= limit < 5 * CLIP + 4 * COST


def test_plan_packing_keeps_every_core_busy_to_the_end():
    def tasks(n: int, cores: int, per_task: int = 4) -> list[int]:
        return [len(t) for t in pack_files([CLIP] * n, plan_packing([CLIP] * n, per_task, COST, cores).max_bytes, COST)]

    # 20 clips on 2 cores: 10 tasks of 2, not 5 of 4 (the fifth would run alone).
    assert tasks(20, 2) == [2] * 10
    assert tasks(100, 2) == [3] * 33 + [1]
    assert tasks(20, 1) == [4] * 5  # one core: the fewest tasks
    assert max(tasks(37, 2, per_task=6)) <= 6
    assert tasks(1, 2) == [1]
    assert plan_packing([0, 0], 4, COST, 2).max_bytes == COST  # only empty files: nothing to pack
    assert plan_packing([CLIP] * 20 + [0], 4, COST, 2).tasks == 10


def test_binary_files_reads_the_packing_it_planned_and_restores_the_session(spark, tmp_path: Path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    names = [f"sub/f{i}.JPG" for i in range(5)] + [f"g{i}.jpg" for i in range(5)]
    for i, name in enumerate(names):
        (folder / name).write_bytes(bytes([i]) * (100 + i))
    (folder / "notes.txt").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "_hidden.jpg").write_bytes(b"x" * 10)
    before = {k: spark.conf.get(k, None) for k in (MAX_PARTITION_KEY, MIN_PARTITIONS_KEY)}
    sizes = [100 + i for i in range(10)] + [0]
    packing = plan_packing(sizes, 3, COST, 2)
    with binary_files(spark, str(folder), ["jpg"], packing) as df:
        rows = df.select("path", "length").collect()
        partitions = df.rdd.getNumPartitions()
    assert sorted((r.path.rsplit("in/", 1)[1], r.length) for r in rows) == sorted(
        (n, 100 + i) for i, n in enumerate(names))
    # 10 files, at most 3 a task, 2 cores: 4 tasks (2 full waves), as planned.
    assert partitions == packing.tasks == 4
    assert {k: spark.conf.get(k, None) for k in before} == before
