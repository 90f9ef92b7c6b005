"""Audio features of one clip: segment MFCCs and the per-clip summary of GTZAN's features_30_sec.csv.

Pure numpy/librosa functions, used by the Spark UDF on the executors and by the serial loop alike.

The summary reproduces the widely used Kaggle table ``features_30_sec.csv``. Those values were
computed with librosa's defaults of its time (before 0.10) on the 30 s clip at 22,050 Hz:
``chroma_stft``, ``rms``, ``spectral_centroid``, ``spectral_bandwidth``, ``spectral_rolloff``,
``zero_crossing_rate``, ``mfcc`` (20), ``effects.harmonic``/``effects.percussive`` (the ``harmony`` and
``perceptr`` columns), ``beat.beat_track`` tempo (see :func:`beat_track_tempo`), each as mean and
variance over frames. Two defaults have changed since, and we pin the old ones so the numbers agree:

* STFT/RMS centre padding was ``reflect`` (librosa 0.10 pads with zeros): ``pad_mode="reflect"``.
* ``istft`` without ``length`` returned ``n_fft//2`` samples short of a whole number of hops, which
  ``effects.harmonic`` zero-padded back to the clip length; we do the same.

With both pinned, the 14 real clips of ``genres_original`` agree with the csv within 3e-6
relative for every feature (most within 1e-7; rms, roll-off and zero-crossing rate to 1e-12),
tempo exactly, and the two means of the harmonic/percussive signals, which are ~1e-6 around zero,
within 5e-11 absolute (float32 rounding in a sum that cancels). tests/e2e/test_gtzan.py checks it.

Everything is computed from ONE short-time Fourier transform per clip (magnitude, power, mel and
HPSS all reuse it) because the STFT and the median filters of HPSS are most of the per-file cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparkfolio.gtzan.medfilt import hpss

# Column names and order of features_30_sec.csv (without filename, length and label).
SPECTRAL_FEATURES: tuple[str, ...] = (
    "chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff", "zero_crossing_rate",
    "harmony", "perceptr",
)
N_SUMMARY_MFCC = 20
SUMMARY_FEATURES: tuple[str, ...] = (
    tuple(f"{name}_{stat}" for name in SPECTRAL_FEATURES for stat in ("mean", "var"))
    + ("tempo",)
    + tuple(f"mfcc{i}_{stat}" for i in range(1, N_SUMMARY_MFCC + 1) for stat in ("mean", "var"))
)


@dataclass(frozen=True)
class FeatureParams:
    """Plain settings of the feature extraction (safe to ship to executors).

    Attributes
    ----------
    sample_rate:
        Every clip is resampled to this rate (Hz) and mixed down to mono.
    n_fft, hop_length:
        STFT frame and hop in samples, for the segment MFCCs and the summary alike.
    segments_per_30s:
        Segments a 30 s clip is split into (10 gives 3 s segments); shorter clips give the whole
        segments that fit.
    segment_mfcc:
        MFCC coefficients per segment frame.
    pad_mode:
        STFT centre padding; ``reflect`` is what features_30_sec.csv was computed with.
    min_duration_s:
        Shorter clips are rejected (too short for one STFT frame of tempo or a segment).
    """

    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    segments_per_30s: int = 10
    segment_mfcc: int = 13
    pad_mode: str = "reflect"
    min_duration_s: float = 1.0

    @property
    def segment_samples(self) -> int:
        """Samples per segment: 30 s at ``sample_rate`` divided into ``segments_per_30s``."""
        return int(self.sample_rate * 30 / self.segments_per_30s)


def _mean_var(name: str, values: np.ndarray, out: dict[str, float]) -> None:
    # In the frames' own dtype (float32 for most), as the csv was computed: its means are float32.
    out[f"{name}_mean"] = float(np.mean(values))
    out[f"{name}_var"] = float(np.var(values))


def summary_features(y: np.ndarray, sr: int, params: FeatureParams = FeatureParams()) -> dict[str, float]:
    """The 57 per-clip features of features_30_sec.csv (same names), from one STFT of ``y``.

    Parameters
    ----------
    y:
        Mono float32 samples at ``sr``.
    sr:
        Sample rate in Hz (22,050 to compare with the csv).

    Returns
    -------
    dict
        ``{"chroma_stft_mean": ..., ..., "tempo": ..., "mfcc20_var": ...}`` in SUMMARY_FEATURES order.
    """
    import librosa

    n_fft, hop, pad = params.n_fft, params.hop_length, params.pad_mode
    stft = librosa.stft(y, n_fft=n_fft, hop_length=hop, pad_mode=pad)
    mag = np.abs(stft)
    power = mag**2
    out: dict[str, float] = {}
    _mean_var("chroma_stft", librosa.feature.chroma_stft(S=power, sr=sr, n_fft=n_fft, hop_length=hop), out)
    # RMS in the time domain (as librosa.feature.rms(y=...) did), not from the spectrum.
    _mean_var("rms", librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop, pad_mode=pad), out)
    _mean_var("spectral_centroid", librosa.feature.spectral_centroid(S=mag, sr=sr, n_fft=n_fft, hop_length=hop), out)
    _mean_var("spectral_bandwidth", librosa.feature.spectral_bandwidth(S=mag, sr=sr, n_fft=n_fft, hop_length=hop), out)
    _mean_var("rolloff", librosa.feature.spectral_rolloff(S=mag, sr=sr, n_fft=n_fft, hop_length=hop), out)
    _mean_var("zero_crossing_rate", librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop), out)
    harm_stft, perc_stft = hpss(stft)
    for name, part in (("harmony", harm_stft), ("perceptr", perc_stft)):
        # Old istft: n_fft//2 short of whole hops, zero-padded to the clip length (see module doc).
        wave = librosa.util.fix_length(librosa.istft(part, hop_length=hop, n_fft=n_fft, dtype=y.dtype), size=len(y))
        _mean_var(name, wave, out)
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_fft=n_fft, hop_length=hop))
    # beat_track(y=...) detects onsets as the median spectral flux of this log-mel spectrogram.
    onset_env = librosa.onset.onset_strength(S=mel_db, sr=sr, hop_length=hop, aggregate=np.median)
    out["tempo"] = beat_track_tempo(onset_env, sr, hop)
    mfcc = librosa.feature.mfcc(S=mel_db, sr=sr, n_mfcc=N_SUMMARY_MFCC)
    for i in range(N_SUMMARY_MFCC):
        _mean_var(f"mfcc{i + 1}", mfcc[i], out)
    return {name: out[name] for name in SUMMARY_FEATURES}


def beat_track_tempo(onset_env: np.ndarray, sr: int, hop_length: int) -> float:
    """The tempo ``librosa.beat.beat_track(onset_envelope=...)`` returns, without tracking the beats.

    beat_track's tempo is ``librosa.feature.tempo`` on the same envelope (its defaults:
    start_bpm 120, no prior), or 0 when the envelope has no onset at all; the beat positions it
    then tracks are not used here. Calling ``feature.tempo`` directly skips that dynamic
    programme per clip and, more importantly, never imports ``librosa.beat``, whose
    ``__beat_local_score`` kernel is compiled by numba at import with ``cache=False``: a few
    seconds in every new Python process (every Spark worker) that no on-disk cache can save.
    """
    import librosa

    if not onset_env.any():
        return 0.0
    tempo = librosa.feature.tempo(onset_envelope=onset_env, sr=sr, hop_length=hop_length, start_bpm=120.0)
    return float(np.atleast_1d(tempo)[0])


def segment_mfccs(y: np.ndarray, sr: int, params: FeatureParams = FeatureParams()) -> list[np.ndarray]:
    """MFCC matrices of the consecutive whole segments of ``y`` (the classic GTZAN 3 s split).

    Each segment is analysed on its own (its own centre padding), as the widely copied GTZAN
    genre-classification pre-processing does, so a segment's matrix does not depend on its
    neighbours.

    Returns
    -------
    list of numpy.ndarray
        One float32 array of shape ``(segment_mfcc, n_frames)`` per segment (librosa's layout;
        130 frames for 3 s at hop 512); empty when ``y`` is shorter than one segment.
    """
    import librosa

    size = params.segment_samples
    out = []
    for k in range(len(y) // size):
        seg = y[k * size:(k + 1) * size]
        out.append(librosa.feature.mfcc(y=seg, sr=sr, n_mfcc=params.segment_mfcc, n_fft=params.n_fft,
                                        hop_length=params.hop_length, pad_mode=params.pad_mode).astype(np.float32))
    return out
