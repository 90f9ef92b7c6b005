"""File access from Spark tasks: local paths and ``file:`` URIs directly, other URIs via pyarrow.fs.

The driver only lists inputs (through Hadoop, ``runtime.inputs``); executors open the bytes
themselves. Local files use plain ``open`` (fastest); ``hdfs://``, ``s3://``, ``gs://``... go
through ``pyarrow.fs.FileSystem.from_uri`` so the same job runs on a cluster's storage.
"""

from __future__ import annotations

import bz2
import gzip
import os
import uuid
from typing import IO, Any

from sparkfolio.runtime.errors import DependencyError
from sparkfolio.runtime.inputs import local_path  # noqa: F401  (re-exported for task code)


def is_local(uri: str) -> bool:
    """Whether ``uri`` names a file on the local file system (a plain path or ``file:``)."""
    return "://" not in uri or uri.startswith("file:")


def _arrow_fs(uri: str) -> tuple[Any, str]:
    try:
        from pyarrow import fs as pafs

        return pafs.FileSystem.from_uri(uri)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for an unusable scheme
        raise DependencyError(f"cannot open {uri} from a Spark task: pyarrow.fs does not support it here ({exc})") from None


def open_read(uri: str) -> IO[bytes]:
    """A seekable binary stream of ``uri`` (unbuffered for local files: we read big blocks)."""
    if is_local(uri):
        return open(local_path(uri), "rb", buffering=0)
    fs, path = _arrow_fs(uri)
    return fs.open_input_file(path)


def open_decompressed(uri: str, compression: str | None) -> IO[bytes]:
    """A binary stream of ``uri``'s content, decompressing gzip or bzip2 on the fly."""
    raw = open_read(uri)
    if compression == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    return raw


def join(base: str, *names: str) -> str:
    """``base/name/...`` for URIs and paths alike."""
    return "/".join([base.rstrip("/"), *names])


class ParquetPart:
    """One Parquet file of a table, written by one task through a hidden name and renamed in.

    Spark's readers skip names starting with ``.``, so a half-written part is never read; a
    retried task attempt rewrites the same final name (idempotent). ``dictionary`` names the
    columns worth dictionary-encoding (or True/False for all).
    """

    def __init__(self, uri: str, schema: Any, dictionary: list[str] | bool = True) -> None:
        import pyarrow.parquet as pq

        self.uri = uri
        folder, _, name = uri.rstrip("/").rpartition("/")
        self._tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:10]}.tmp"
        self._stream = None
        self._fs = None
        if is_local(uri):
            os.makedirs(local_path(folder), exist_ok=True)
            self._writer = pq.ParquetWriter(local_path(self._tmp), schema, compression="snappy",
                                            use_dictionary=dictionary)
        else:
            self._fs, self._tmp_path = _arrow_fs(self._tmp)
            self._stream = self._fs.open_output_stream(self._tmp_path)
            self._writer = pq.ParquetWriter(self._stream, schema, compression="snappy", use_dictionary=dictionary)
        self.rows = 0

    def write(self, batch: Any) -> None:
        """Append a RecordBatch (one row group per call)."""
        if batch.num_rows:
            self._writer.write_batch(batch)
            self.rows += batch.num_rows

    def commit(self) -> None:
        """Finish the file and give it its final name."""
        self._writer.close()
        if self._fs is None:
            os.replace(local_path(self._tmp), local_path(self.uri))
        else:
            self._stream.close()
            _, final = _arrow_fs(self.uri)
            self._fs.move(self._tmp_path, final)

    def discard(self) -> None:
        """Drop the unfinished file (after an error)."""
        try:
            self._writer.close()
        finally:
            if self._fs is None:
                if os.path.exists(local_path(self._tmp)):
                    os.remove(local_path(self._tmp))
            else:
                self._fs.delete_file(self._tmp_path)


def has_parquet_parts(folder: str) -> bool:
    """Whether ``folder`` (a path or URI) holds at least one visible ``.parquet`` file; False if it is missing."""
    if is_local(folder):
        path = local_path(folder)
        return os.path.isdir(path) and any(n.endswith(".parquet") and not n.startswith(".") for n in os.listdir(path))
    from pyarrow import fs as pafs

    fs, path = pafs.FileSystem.from_uri(folder)
    return any(i.base_name.endswith(".parquet") and not i.base_name.startswith(".")
               for i in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)))


def ensure_parquet_table(folder: str, schema: Any) -> None:
    """Give a table folder that no task wrote a part to one empty part of ``schema``, so readers see its schema.

    Jobs whose tasks write their own parts skip empty ones; this costs no Spark job.
    """
    import pyarrow as pa

    if has_parquet_parts(folder):
        return
    part = ParquetPart(join(folder, "part-empty.parquet"), schema)
    part.write(pa.RecordBatch.from_pylist([], schema=schema))
    part.commit()
