"""Synthetic genre clips: deterministic, valid 16-bit WAV, and genre signatures that differ."""

from __future__ import annotations

import io

import numpy as np
import pytest

from sparkfolio.gtzan.synth import GENRES, STYLES, clip_name, synth_clip, wav_bytes

SR = 22050


def test_every_genre_has_a_recipe():
    assert set(STYLES) == set(GENRES) and len(GENRES) == 10


def test_clips_are_deterministic_and_distinct():
    a = synth_clip("jazz", 4, seed=7, duration_s=2.0)
    assert np.array_equal(a, synth_clip("jazz", 4, seed=7, duration_s=2.0))
    assert not np.array_equal(a, synth_clip("jazz", 5, seed=7, duration_s=2.0))
    assert not np.array_equal(a, synth_clip("jazz", 4, seed=8, duration_s=2.0))
    assert a.dtype == np.float32 and len(a) == 2 * SR
    assert np.max(np.abs(a)) == pytest.approx(0.89, rel=1e-6)


def test_wav_bytes_are_16_bit_pcm_at_the_rate():
    import soundfile as sf

    y = synth_clip("metal", 0, duration_s=1.0)
    data = wav_bytes(y, SR)
    info = sf.info(io.BytesIO(data))
    assert (info.samplerate, info.channels, info.frames, info.subtype, info.format) == (SR, 1, SR, "PCM_16", "WAV")
    pcm, _ = sf.read(io.BytesIO(data), dtype="int16")
    np.testing.assert_array_equal(pcm, np.round(y * 32767).astype(np.int16))
    assert clip_name("metal", 7) == "metal.00007.wav"


def test_unknown_genre_is_an_error():
    with pytest.raises(ValueError, match="unknown genre 'polka'"):
        synth_clip("polka", 0)


def test_genre_signatures_differ_where_designed():
    """Metal is brighter and noisier than classical; hip-hop carries more low end than pop."""
    import librosa

    def centroid(genre: str) -> float:
        return float(np.mean(librosa.feature.spectral_centroid(y=synth_clip(genre, 0, duration_s=3.0), sr=SR)))

    def low_share(genre: str) -> float:
        spec = np.abs(librosa.stft(synth_clip(genre, 0, duration_s=3.0))) ** 2
        freqs = librosa.fft_frequencies(sr=SR)
        return float(spec[freqs < 150].sum() / spec.sum())

    assert centroid("metal") > 1.5 * centroid("classical")
    assert low_share("hiphop") > 2 * low_share("pop")
