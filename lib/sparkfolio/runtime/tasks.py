"""Hand-planned Spark tasks: one task per payload the driver planned, run by a plain Python function.

Jobs that read files themselves on the executors (byte-range splits, many small files) plan
their tasks on the driver as small plain values (paths and offsets). :func:`run_tasks` turns
that plan into a DataFrame with exactly one partition per task and runs the task function in
``mapInArrow``.

It starts from ``spark.range`` (generated in the JVM) rather than from a parallelized Python
list: a ``createDataFrame`` over an RDD of rows runs a second Python worker per task just to
pickle the plan rows into the JVM, and pays its start-up and round trip on every task. The plan
itself travels in the task function's closure, which PySpark ships once per job (and broadcasts
when it is large).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

TaskFn = Callable[[Any], Iterator[Any]]


def run_tasks(spark: Any, payloads: Sequence[Any], fn: TaskFn, schema: Any) -> Any:
    """A DataFrame of what ``fn(payload)`` yields (Arrow record batches), one Spark task per payload.

    ``payloads`` must be plain picklable values (they are sent to the executors); ``fn`` must be
    a module-level function or a ``functools.partial`` of one, never a closure over the session.
    An empty plan gives an empty DataFrame of ``schema``.
    """
    items = list(payloads)
    n = len(items)

    def run_partition(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            for index in batch.column(0).to_pylist():
                yield from fn(items[index])

    # range(0, n, 1, n) puts exactly one id in each of its n partitions.
    return spark.range(0, n, 1, max(1, n)).mapInArrow(run_partition, schema)
