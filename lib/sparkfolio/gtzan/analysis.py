"""Everything computed for one audio file, as one plain record (the unit of work of the UDF).

One call decodes the bytes once and computes the summary features, the segment MFCCs and, for the
sampled clips, the two plots, so the heavy per-file work happens exactly once per file. A file that
cannot be used gives a record with ``status="error"`` and the reason instead of raising: one bad
file in a nightly batch of thousands must not stop the others.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from sparkfolio.gtzan.audio import AudioError, decode
from sparkfolio.gtzan.features import SUMMARY_FEATURES, FeatureParams, segment_mfccs, summary_features

log = logging.getLogger(__name__)

OK = "ok"
ERROR = "error"

# Fields of a record besides the summary features, in output order.
META_FIELDS = ("path", "status", "error", "size_bytes", "source_rate", "channels", "duration_s", "length",
               "n_segments")

_WORKER_READY = False


def worker_setup() -> None:
    """Once per Python process: one BLAS/OpenMP thread and the JIT kernels compiled.

    Spark runs one Python worker per task slot; if each also let OpenBLAS start a thread per core,
    two workers on two cores would fight over four threads (measured on a busy 2-core machine: the
    1 ms mel-filterbank product then takes 80 ms). Spark sets OMP_NUM_THREADS to the executor's
    cores, not one per task, so the limit is set here, at run time, for whatever BLAS/OpenMP
    libraries the process has loaded.

    The JIT kernels are then compiled (or loaded from numba's on-disk cache) by running the whole
    feature path on a short synthetic clip, under a machine-wide file lock. The lock matters:
    numba's cache of ``guvectorize`` functions (librosa has several) is not safe when two processes
    compile and write it at once (numba/numba#10128): the cache can end up mixing two compilations,
    and a later process that loads it segfaults. So a process that may write the cache holds the
    lock exclusively: the first worker on a machine compiles and writes the cache while the others
    wait. Once a warm-up has finished, a marker records the state of the cache it left (see
    :func:`jit_cache_fingerprint`); a worker that finds the cache still in that state only loads
    it, which writes nothing, so it holds the lock shared: warm workers set up side by side instead
    of one after the other, and still never overlap a writer.
    """
    global _WORKER_READY
    if _WORKER_READY:
        return
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with librosa's scikit-learn
        log.warning("threadpoolctl not installed; BLAS may start one thread per core in every worker")
    marker = _ready_marker()
    if _cache_is_warm(marker):
        with jit_cache_lock(shared=True):
            # Re-checked under the lock: a writer may have changed the cache since the first look.
            if _cache_is_warm(marker):
                warm_up_kernels()
                _WORKER_READY = True
                return
    with jit_cache_lock():
        warm_up_kernels()
        _write_marker(marker, jit_cache_fingerprint())
    _WORKER_READY = True


@contextlib.contextmanager
def jit_cache_lock(shared: bool = False) -> Iterator[None]:
    """A lock shared by every process on this machine (a ``flock`` on a temp file).

    Exclusive by default (for a process that may write numba's cache); ``shared=True`` for one
    that only reads it: readers run together, a writer waits for them and they for it.
    """
    path = os.path.join(tempfile.gettempdir(), "sparkfolio-numba-cache.lock")
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def jit_cache_fingerprint() -> str | None:
    """A digest of everything that decides whether numba would (re)write its cache, or ``None``.

    numba recompiles, and rewrites a function's cache index (``.nbi``), when the index is missing
    or the source file's stamp (modification time and size) changed, and keys it by Python and
    numba version. The digest covers those versions, the stamps of the ``.py`` sources of librosa
    and of this package, and the stamps of every cache index found for them. Loading a complete
    cache leaves all of these untouched, so a digest equal to the one taken after a warm-up means
    the cache is still complete. ``None`` (no index found: the cache is cold or kept where it is
    not looked for) always means "may write".
    """
    import hashlib
    import importlib.util
    import sys

    import numba

    spec = importlib.util.find_spec("librosa")
    dirs = [os.path.dirname(__file__)] + (list(spec.submodule_search_locations or []) if spec else [])
    cache_dir = os.environ.get("NUMBA_CACHE_DIR", "")
    digest = hashlib.sha256(f"{sys.executable}|{sys.version}|{numba.__version__}|{cache_dir}".encode())
    indexes = 0
    for root in dirs + ([cache_dir] if cache_dir else []):
        for folder, subdirs, files in os.walk(root):
            subdirs.sort()
            for name in sorted(files):
                if not name.endswith((".py", ".nbi")):
                    continue
                try:
                    st = os.stat(os.path.join(folder, name))
                except OSError:
                    continue
                indexes += name.endswith(".nbi")
                digest.update(f"|{folder}/{name}:{st.st_mtime_ns}:{st.st_size}".encode())
    return digest.hexdigest() if indexes else None


def _ready_marker() -> str:
    """Where the fingerprint of a finished warm-up is kept, one file per interpreter and cache dir."""
    import hashlib
    import sys

    where = hashlib.sha256(f"{sys.executable}|{os.environ.get('NUMBA_CACHE_DIR', '')}".encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"sparkfolio-numba-cache.{where}.ready")


def _cache_is_warm(marker: str) -> bool:
    """True when the marker holds the cache's current fingerprint (a warm-up already finished)."""
    try:
        with open(marker, encoding="utf-8") as handle:
            recorded = handle.read().strip()
    except OSError:
        return False
    current = jit_cache_fingerprint()
    return current is not None and recorded == current


def _write_marker(marker: str, fingerprint: str | None) -> None:
    """Record ``fingerprint`` atomically (readers never see half a file); failures only cost speed."""
    if fingerprint is None:
        return
    tmp = f"{marker}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(fingerprint)
        os.replace(tmp, marker)
    except OSError as exc:
        log.warning("numba cache marker not written (%s); workers will warm up one at a time", exc)


def warm_up_kernels(params: FeatureParams = FeatureParams()) -> None:
    """Run every librosa/numba code path of :func:`analyse` once on 3.5 s of synthetic sound.

    Compiles (or loads from cache) all the JIT kernels a clip needs, so no kernel is compiled later
    outside :func:`jit_cache_lock`, and the first real file is not charged for compilation.
    """
    from sparkfolio.gtzan.medfilt import warm_up

    warm_up()
    sr = params.sample_rate
    t = np.arange(int(3.5 * sr), dtype=np.float32) / sr
    # A tone with a pulse every 0.5 s: onsets for the beat tracker, energy for every feature.
    y = (0.3 * np.sin(2 * np.pi * 440.0 * t) * (1.0 + (np.mod(t, 0.5) < 0.05))).astype(np.float32)
    summary_features(y, sr, params)
    segment_mfccs(y, sr, params)


def empty_record(path: str, size_bytes: int) -> dict[str, Any]:
    """A record with only the file's identity filled in (every other field ``None``)."""
    rec: dict[str, Any] = {name: None for name in META_FIELDS}
    rec.update({name: None for name in SUMMARY_FEATURES})
    rec.update(path=path, size_bytes=int(size_bytes), segments=None, waveform_png=None, melspec_png=None,
               work_s=None)
    return rec


def analyse(data: bytes, path: str, params: FeatureParams = FeatureParams(), plot: bool = False) -> dict[str, Any]:
    """Decode one file and compute all its features; problems become an error record.

    Parameters
    ----------
    data:
        The file's bytes.
    path:
        Its path or URI (identity only; nothing is read from it).
    plot:
        Also render the waveform and mel-spectrogram PNGs (for the sampled clips).

    Returns
    -------
    dict
        ``META_FIELDS`` + ``SUMMARY_FEATURES`` + ``segments`` (list of ``{segment, start_s,
        n_frames, mfcc}`` with ``mfcc`` a list of ``segment_mfcc`` lists of ``n_frames`` floats) +
        ``waveform_png``/``melspec_png`` (bytes or None) + ``work_s`` (seconds spent).
    """
    started = time.perf_counter()
    rec = empty_record(path, len(data))
    try:
        clip = decode(data, params.sample_rate, params.min_duration_s)
        y, sr = clip.samples, clip.sample_rate
        feats = summary_features(y, sr, params)
        bad = [k for k, v in feats.items() if not np.isfinite(v)]
        if bad:
            raise AudioError(f"non-finite features ({', '.join(bad[:3])}{'...' if len(bad) > 3 else ''})")
        segs = segment_mfccs(y, sr, params)
    except AudioError as exc:
        rec.update(status=ERROR, error=str(exc), work_s=time.perf_counter() - started)
        return rec
    except Exception as exc:  # noqa: BLE001 - librosa on a pathological clip; keep the batch going
        log.warning("feature extraction failed for %s", path, exc_info=True)
        rec.update(status=ERROR, error=f"feature extraction failed: {type(exc).__name__}: {exc}",
                   work_s=time.perf_counter() - started)
        return rec
    rec.update(feats)
    seg_seconds = params.segment_samples / sr
    rec.update(
        status=OK,
        source_rate=clip.source_rate,
        channels=clip.channels,
        duration_s=clip.duration_s,
        length=len(y),
        n_segments=len(segs),
        segments=[{"segment": k, "start_s": k * seg_seconds, "n_frames": int(m.shape[1]), "mfcc": m.tolist()}
                  for k, m in enumerate(segs)],
    )
    if plot:
        try:
            from sparkfolio.gtzan.plots import melspec_png, waveform_png

            title = path.rstrip("/").rsplit("/", 1)[-1]
            rec["waveform_png"] = waveform_png(y, sr, title)
            rec["melspec_png"] = melspec_png(y, sr, title, params.n_fft, params.hop_length)
        except Exception:  # noqa: BLE001 - a plot is a by-product; never reject a good clip for it
            log.warning("plotting failed for %s", path, exc_info=True)
    rec["work_s"] = time.perf_counter() - started
    return rec
