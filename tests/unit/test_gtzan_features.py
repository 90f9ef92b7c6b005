"""Pure GTZAN functions: fast median filter and HPSS, decoding, genre names, features, per-file records."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import scipy.ndimage as ndi

from sparkfolio.gtzan import medfilt
from sparkfolio.gtzan.analysis import ERROR, OK, analyse
from sparkfolio.gtzan.audio import AudioError, decode, genre_from_path
from sparkfolio.gtzan.features import (
    SUMMARY_FEATURES,
    FeatureParams,
    beat_track_tempo,
    segment_mfccs,
    summary_features,
)
from sparkfolio.gtzan.synth import synth_clip, wav_bytes

SR = 22050


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """7 s of synthetic rock as 16-bit audio would hold it (what decode() returns for its WAV)."""
    y = synth_clip("rock", 3, seed=11, duration_s=7.0, sample_rate=SR)
    return (np.round(y * 32767.0) / 32768.0).astype(np.float32)


# -- median filter / HPSS -----------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(257, 301), (5, 7), (3, 40), (40, 3), (16, 16), (1, 1), (31, 2)])
@pytest.mark.parametrize("axis", [0, 1])
def test_median_filter_equals_scipy_bit_for_bit(shape, axis):
    rng = np.random.default_rng(sum(shape) + axis)
    x = rng.random(shape).astype(np.float32)
    x[:, ::5] = x[:, :1]  # ties, which a sorted window must handle like SciPy
    x[::4] = 0.0
    want = ndi.median_filter(x, size=(1, 31) if axis == 1 else (31, 1), mode="reflect")
    got = medfilt.median_filter_axis(x, 31, axis)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_median_filter_rejects_even_windows():
    with pytest.raises(ValueError):
        medfilt.median_filter_axis(np.zeros((4, 4), np.float32), 4, 1)


def test_hpss_equals_librosa(clip):
    import librosa

    stft = librosa.stft(clip[: 2 * SR], pad_mode="reflect")
    h, p = medfilt.hpss(stft)
    h_ref, p_ref = librosa.decompose.hpss(stft)
    assert np.array_equal(h, h_ref) and np.array_equal(p, p_ref)


# -- decoding and names -------------------------------------------------------------------------
def _wav(samples: np.ndarray, sr: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def test_decode_matches_librosa_load_with_downmix_and_resampling(tmp_path):
    import librosa

    rng = np.random.default_rng(0)
    stereo = (0.3 * rng.standard_normal((44100, 2))).astype(np.float32)
    path = tmp_path / "x.wav"
    path.write_bytes(_wav(stereo, 44100))
    clip = decode(path.read_bytes(), SR)
    want, sr = librosa.load(path, sr=SR)
    assert (clip.sample_rate, clip.source_rate, clip.channels, sr) == (SR, 44100, 2, SR)
    assert clip.samples.dtype == np.float32 and np.array_equal(clip.samples, want)


def test_decode_reads_au_files():
    y = synth_clip("pop", 0, duration_s=1.5)
    clip = decode(_wav(y, SR, fmt="AU"), SR)
    assert clip.source_rate == SR and len(clip.samples) == len(y)
    np.testing.assert_allclose(clip.samples, y, atol=1 / 32767)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file (0 bytes)"),
    (b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk", "cannot decode audio"),
    (b"this is not audio at all" * 100, "cannot decode audio"),
])
def test_decode_rejects_corrupt_bytes_with_a_reason(data, reason):
    with pytest.raises(AudioError, match=re.escape(reason)):
        decode(data, SR)


def test_decode_rejects_short_and_silent_clips():
    with pytest.raises(AudioError, match=r"clip of 0\.50 s is shorter than the minimum 1 s"):
        decode(_wav(np.full(SR // 2, 0.1, np.float32), SR), SR, min_duration_s=1.0)
    with pytest.raises(AudioError, match="silent: every sample is zero"):
        decode(_wav(np.zeros(SR * 2, np.float32), SR), SR)
    with pytest.raises(AudioError, match="no audio samples"):
        decode(_wav(np.zeros(0, np.float32), SR), SR)


@pytest.mark.parametrize("path, genre", [
    ("file:/data/gtzan/genres_original/blues/blues.00054.wav", "blues"),
    ("/data/trimmed_clips/HipHop.00012.au", "hiphop"),       # the name wins over the folder
    ("s3a://bucket/music/jazz/take_five.wav", "jazz"),       # no GTZAN name: the folder
    ("rock.wav", ""),                                         # neither
])
def test_genre_from_path(path, genre):
    assert genre_from_path(path) == genre


# -- features -----------------------------------------------------------------------------------
def test_summary_features_equal_librosa_calls_on_the_signal(clip):
    """One shared STFT gives what librosa's own per-feature calls give (old reflect padding)."""
    import librosa

    got = summary_features(clip, SR)
    assert list(got) == list(SUMMARY_FEATURES) and len(got) == 57
    kw = dict(sr=SR, pad_mode="reflect")
    ref = {
        "chroma_stft": librosa.feature.chroma_stft(y=clip, **kw),
        "rms": librosa.feature.rms(y=clip, pad_mode="reflect"),
        "spectral_centroid": librosa.feature.spectral_centroid(y=clip, **kw),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(y=clip, **kw),
        "rolloff": librosa.feature.spectral_rolloff(y=clip, **kw),
        "zero_crossing_rate": librosa.feature.zero_crossing_rate(clip),
    }
    h, p = librosa.decompose.hpss(librosa.stft(clip, pad_mode="reflect"))
    ref["harmony"] = librosa.util.fix_length(librosa.istft(h), size=len(clip))
    ref["perceptr"] = librosa.util.fix_length(librosa.istft(p), size=len(clip))
    mfcc = librosa.feature.mfcc(y=clip, n_mfcc=20, **kw)
    for i in range(20):
        ref[f"mfcc{i + 1}"] = mfcc[i]
    onset = librosa.onset.onset_strength(y=clip, aggregate=np.median, **kw)
    want = {"tempo": float(librosa.beat.beat_track(onset_envelope=onset, sr=SR)[0][0])}
    for name, frames in ref.items():
        want[f"{name}_mean"] = float(np.mean(frames))
        want[f"{name}_var"] = float(np.var(frames))
    for name in SUMMARY_FEATURES:
        assert got[name] == pytest.approx(want[name], rel=1e-5, abs=1e-9), name


def test_beat_track_tempo_is_exactly_beat_tracks_tempo(clip):
    """The tempo without the beat tracker is beat_track's own tempo, bit for bit (silence: 0)."""
    import librosa

    onset = librosa.onset.onset_strength(y=clip, sr=SR, aggregate=np.median)
    for env in (onset, onset[: len(onset) // 3], np.zeros_like(onset)):
        want = float(np.atleast_1d(librosa.beat.beat_track(onset_envelope=env, sr=SR)[0])[0])
        assert beat_track_tempo(env, SR, 512) == want


def test_segment_mfccs_are_whole_3s_segments_analysed_alone(clip):
    import librosa

    segs = segment_mfccs(clip, SR)
    assert len(segs) == 2  # 7 s: two whole 3 s segments
    assert [s.shape for s in segs] == [(13, 130), (13, 130)]
    for k, seg in enumerate(segs):
        want = librosa.feature.mfcc(y=clip[k * 66150:(k + 1) * 66150], sr=SR, n_mfcc=13, n_fft=2048,
                                    hop_length=512, pad_mode="reflect")
        np.testing.assert_allclose(seg, want, rtol=1e-6, atol=1e-4)
    five = segment_mfccs(clip, SR, FeatureParams(segments_per_30s=15))  # 2 s segments
    assert len(five) == 3 and five[0].shape == (13, 87)
    assert segment_mfccs(clip[: SR * 2], SR) == []


def test_analyse_gives_a_full_record_for_a_good_file(clip):
    data = wav_bytes(synth_clip("rock", 3, seed=11, duration_s=7.0), SR)
    rec = analyse(data, "file:/x/rock/rock.00003.wav", plot=True)
    assert rec["status"] == OK and rec["error"] is None
    assert (rec["size_bytes"], rec["source_rate"], rec["channels"], rec["length"], rec["n_segments"]) == (
        len(data), SR, 1, 7 * SR, 2)
    assert rec["duration_s"] == pytest.approx(7.0)
    feats = summary_features(clip, SR)
    assert {k: rec[k] for k in SUMMARY_FEATURES} == feats
    assert [s["segment"] for s in rec["segments"]] == [0, 1]
    assert [s["start_s"] for s in rec["segments"]] == [0.0, 3.0]
    np.testing.assert_array_equal(np.array(rec["segments"][1]["mfcc"], np.float32), segment_mfccs(clip, SR)[1])
    for key in ("waveform_png", "melspec_png"):
        assert rec[key][:8] == b"\x89PNG\r\n\x1a\n" and len(rec[key]) > 5000
    assert rec["work_s"] > 0


def test_analyse_turns_a_corrupt_file_into_an_error_record():
    rec = analyse(b"\x00" * 1000, "file:/x/jazz/jazz.00054.wav")
    assert rec["status"] == ERROR and rec["error"].startswith("cannot decode audio")
    assert rec["size_bytes"] == 1000 and rec["segments"] is None
    assert all(rec[k] is None for k in SUMMARY_FEATURES)
