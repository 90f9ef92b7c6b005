"""Decoding audio files from bytes, and where a clip's genre comes from.

Pure functions: the Spark UDF gets each file's bytes from the ``binaryFile`` source and the serial
loop reads them from disk; both decode here, so both see exactly the same samples.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

import numpy as np

# `blues.00054.wav`, `hiphop.00012.au`: the GTZAN file name carries the genre before the number.
GTZAN_NAME = r"^([A-Za-z][A-Za-z0-9_-]*)\.[0-9]+\.[A-Za-z0-9]+$"
# Otherwise the folder that holds the file names the genre (`<genre>/<anything>.wav`).
PARENT_FOLDER = r"([^/]+)/[^/]+$"


class AudioError(ValueError):
    """A file that cannot be used as a clip: corrupt, empty, silent-length or too short."""


@dataclass(frozen=True)
class Clip:
    """Decoded mono samples at the target rate, with what the file itself said."""

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        """Length in seconds at the target rate."""
        return len(self.samples) / self.sample_rate


def genre_from_path(path: str) -> str:
    """The genre of a clip: the GTZAN file-name prefix, else the parent folder, lower-cased.

    Mirrors the Spark expression in :func:`sparkfolio.gtzan.clips.genre_column` (same patterns).
    """
    name = path.rstrip("/").rsplit("/", 1)[-1]
    m = re.match(GTZAN_NAME, name)
    if m:
        return m.group(1).lower()
    m = re.search(PARENT_FOLDER, path.rstrip("/"))
    return m.group(1).lower() if m else ""


def decode(data: bytes, sample_rate: int = 22050, min_duration_s: float = 0.0) -> Clip:
    """Decode WAV/AU/FLAC/OGG bytes to mono float32 samples at ``sample_rate``.

    Same samples as ``librosa.load(path, sr=sample_rate)``: libsndfile decoding to float32, channel
    mean, then soxr_hq resampling only when the file's rate differs.

    Raises
    ------
    AudioError
        Empty or unreadable bytes, no samples, non-finite or all-zero samples, or shorter than
        ``min_duration_s``.
    """
    import soundfile as sf

    if len(data) == 0:
        raise AudioError("empty file (0 bytes)")
    try:
        raw, source_rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"cannot decode audio: {_clean(str(exc))}") from None
    if raw.shape[0] == 0:
        raise AudioError("no audio samples in the file")
    channels = int(raw.shape[1])
    y = raw[:, 0] if channels == 1 else raw.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(y)):
        raise AudioError("non-finite (NaN or infinite) samples")
    if not np.any(y):
        raise AudioError("silent: every sample is zero")
    if source_rate != sample_rate:
        import librosa

        y = librosa.resample(y, orig_sr=source_rate, target_sr=sample_rate, res_type="soxr_hq")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if len(y) < min_duration_s * sample_rate:
        raise AudioError(f"clip of {len(y) / sample_rate:.2f} s is shorter than the minimum {min_duration_s:g} s")
    return Clip(samples=y, sample_rate=sample_rate, source_rate=int(source_rate), channels=channels)


def _clean(message: str) -> str:
    """libsndfile's message without the in-memory object's address, so reasons repeat across runs."""
    message = re.sub(r"Error opening <[^>]*>: ", "", " ".join(message.split()))
    return re.sub(r" at 0x[0-9a-fA-F]+", "", message)


def read_file(path: str) -> bytes:
    """The bytes of a local file (the serial loop's equivalent of Spark's binaryFile ``content``)."""
    with open(path, "rb") as fh:
        return fh.read()


def file_name(path: str) -> str:
    """The base name of a path or URI."""
    return os.path.basename(path.rstrip("/"))
