"""Synthetic genre-like clips: each genre has its own tempo, register, timbre, drums and noise.

Not music, but clips whose spectral signatures differ by genre the way GTZAN's do (bright, distorted
and fast for metal; sustained, vibrato-rich and drumless for classical; heavy kick and sub-bass for
hip-hop; off-beat chord stabs for reggae...), so features separate genres and nearest neighbours
mostly share a genre. Every clip is a pure function of (seed, genre, index): re-runs are identical.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import numpy as np

GENRES: tuple[str, ...] = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae",
                           "rock")


@dataclass(frozen=True)
class Style:
    """The recipe of one genre (all amplitudes relative, frequencies in Hz)."""

    bpm: float            # 0: no steady beat
    root: float           # tonic of the melody
    scale: tuple[int, ...]  # semitone steps of the scale from the root
    note_beats: float     # melody note length in beats (or seconds without a beat)
    harmonics: int        # partials per note
    brightness: float     # partial k has amplitude k ** -brightness (smaller is brighter)
    vibrato: float        # vibrato depth in semitones
    drive: float          # tanh distortion gain (0: clean)
    kick: float
    snare: float
    hat: float
    hat_per_beat: int     # hi-hat hits per beat
    swing: float          # delay of every other hi-hat, as a fraction of its spacing
    bass: float           # sub-bass on the beat
    chords: float         # off-beat chord stabs
    noise: float          # broadband noise floor


STYLES: dict[str, Style] = {
    "blues": Style(78, 110.0, (0, 3, 5, 6, 7, 10), 1.0, 8, 1.3, 0.25, 0.6, 0.5, 0.4, 0.15, 2, 0.3, 0.3, 0.0, 0.01),
    "classical": Style(0, 261.6, (0, 2, 4, 5, 7, 9, 11), 1.2, 10, 1.6, 0.35, 0.0, 0.0, 0.0, 0.0, 1, 0.0, 0.0, 0.0,
                       0.002),
    "country": Style(104, 196.0, (0, 2, 4, 7, 9), 0.5, 9, 1.1, 0.1, 0.0, 0.45, 0.35, 0.2, 2, 0.0, 0.25, 0.2, 0.01),
    "disco": Style(122, 220.0, (0, 2, 3, 5, 7, 10), 0.5, 6, 1.2, 0.0, 0.3, 0.9, 0.4, 0.5, 4, 0.0, 0.6, 0.35, 0.01),
    "hiphop": Style(92, 130.8, (0, 3, 5, 7, 10), 1.0, 4, 2.0, 0.0, 0.2, 1.2, 0.6, 0.3, 2, 0.15, 1.0, 0.0, 0.02),
    "jazz": Style(136, 174.6, (0, 2, 3, 4, 7, 9, 10, 11), 0.5, 7, 1.5, 0.15, 0.0, 0.15, 0.15, 0.3, 3, 0.33, 0.35,
                  0.3, 0.005),
    "metal": Style(172, 82.4, (0, 1, 3, 5, 7, 8), 0.25, 14, 0.7, 0.0, 9.0, 0.9, 0.7, 0.6, 4, 0.0, 0.4, 0.0, 0.06),
    "pop": Style(116, 293.7, (0, 2, 4, 5, 7, 9), 0.5, 6, 1.4, 0.05, 0.0, 0.7, 0.5, 0.35, 2, 0.0, 0.4, 0.3, 0.008),
    "reggae": Style(74, 146.8, (0, 2, 4, 7, 9), 1.0, 6, 1.3, 0.0, 0.0, 0.6, 0.3, 0.15, 2, 0.2, 0.9, 0.8, 0.008),
    "rock": Style(142, 123.5, (0, 2, 3, 5, 7, 10), 0.5, 12, 0.9, 0.0, 4.0, 0.8, 0.7, 0.45, 2, 0.0, 0.4, 0.25, 0.03),
}


def clip_seed(seed: int, genre: str, index: int) -> np.random.SeedSequence:
    """The random stream of one clip: stable across runs, machines and Python hash seeds."""
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(genre.encode("utf-8")), int(index)])


def _env(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / max(decay, 1e-4))


def _tone(freq: float, n: int, sr: int, style: Style, rng: np.random.Generator) -> np.ndarray:
    """A note of ``n`` samples: decaying partials with optional vibrato."""
    t = np.arange(n) / sr
    if style.vibrato:
        rate = rng.uniform(4.5, 6.5)
        inst = freq * 2 ** (style.vibrato * np.sin(2 * np.pi * rate * t) / 12)
        phase = 2 * np.pi * np.cumsum(inst) / sr
    else:
        phase = 2 * np.pi * freq * t
    out = np.zeros(n)
    for k in range(1, style.harmonics + 1):
        if freq * k >= sr / 2:
            break
        out += (k ** -style.brightness) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    decay = n / sr * (2.5 if style.bpm == 0 else 0.8)
    return out * _env(n, sr, 0.01 if style.bpm else 0.08, decay)


def _add(buf: np.ndarray, start: int, sound: np.ndarray, gain: float) -> None:
    end = min(len(buf), start + len(sound))
    if start < end:
        buf[start:end] += gain * sound[: end - start]


def synth_clip(genre: str, index: int, seed: int = 42, duration_s: float = 30.0, sample_rate: int = 22050) -> np.ndarray:
    """A float32 mono clip in [-1, 1] with the signature of ``genre``.

    Raises
    ------
    ValueError
        ``genre`` has no recipe (see GENRES).
    """
    if genre not in STYLES:
        raise ValueError(f"unknown genre {genre!r}; known: {', '.join(GENRES)}")
    style = STYLES[genre]
    rng = np.random.default_rng(clip_seed(seed, genre, index))
    sr = sample_rate
    n = int(round(duration_s * sr))
    buf = np.zeros(n)
    # Each clip: its own key (within a fourth) and tempo (within 4 %), like different songs.
    root = style.root * 2 ** (rng.integers(-2, 3) / 12)
    bpm = style.bpm * rng.uniform(0.96, 1.04) if style.bpm else 0.0
    beat = 60.0 / bpm if bpm else 0.0
    scale = np.array(style.scale)

    # Melody: a random walk on the scale.
    pos, step = 0.0, int(rng.integers(0, len(scale)))
    while pos < duration_s:
        length = style.note_beats * (beat if beat else rng.uniform(0.6, 1.8))
        step = int(np.clip(step + rng.integers(-2, 3), 0, 2 * len(scale) - 1))
        octave, degree = divmod(step, len(scale))
        freq = root * 2 ** ((scale[degree] + 12 * octave) / 12)
        _add(buf, int(pos * sr), _tone(freq, int(length * sr * 1.1), sr, style, rng), 0.5)
        if not beat and rng.random() < 0.6:  # sustained accompaniment an octave or fifth below
            _add(buf, int(pos * sr), _tone(freq / rng.choice([1.5, 2.0]), int(length * sr * 1.5), sr, style, rng), 0.3)
        pos += length

    if beat:
        kick = np.sin(2 * np.pi * np.cumsum(np.linspace(150, 45, int(0.25 * sr))) / sr) * _env(int(0.25 * sr), sr, 0.002, 0.08)
        snare_len = int(0.2 * sr)
        hat_len = int(0.05 * sr)
        stab = None
        if style.chords:
            chord = sum(_tone(root * 2 ** (s / 12), int(0.18 * sr), sr, style, rng) for s in (0, 4, 7, 12))
            stab = chord / 4
        bass = None
        if style.bass:
            bn = int(beat * sr * 0.9)
            bass = np.sin(2 * np.pi * (root / 2) * np.arange(bn) / sr) * _env(bn, sr, 0.005, beat * 0.5)
        t_beat, k = 0.0, 0
        while t_beat < duration_s:
            i = int(t_beat * sr)
            if style.kick and (k % 2 == 0 or style.bpm >= 120):
                _add(buf, i, kick, style.kick)
            if style.snare and k % 2 == 1:
                noise = rng.standard_normal(snare_len) * _env(snare_len, sr, 0.001, 0.05)
                _add(buf, i, noise + 0.5 * np.sin(2 * np.pi * 185 * np.arange(snare_len) / sr) * _env(snare_len, sr, 0.001, 0.04),
                     style.snare * 0.5)
            if style.hat:
                for h in range(style.hat_per_beat):
                    offset = h / style.hat_per_beat + (style.swing / style.hat_per_beat if h % 2 else 0.0)
                    hiss = np.diff(rng.standard_normal(hat_len + 1)) * _env(hat_len, sr, 0.0005, 0.012)
                    _add(buf, int((t_beat + offset * beat) * sr), hiss, style.hat * 0.35)
            if bass is not None:
                _add(buf, i, bass, style.bass * 0.6)
            if stab is not None:
                _add(buf, int((t_beat + beat / 2) * sr), stab, style.chords)
            t_beat += beat
            k += 1

    if style.drive:
        buf = np.tanh(style.drive * buf) / np.tanh(style.drive)
    buf += style.noise * rng.standard_normal(n)
    peak = float(np.max(np.abs(buf))) or 1.0
    return (0.89 * buf / peak).astype(np.float32)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM WAV bytes of float samples in [-1, 1]."""
    import soundfile as sf

    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def clip_name(genre: str, index: int) -> str:
    """GTZAN's file name of clip ``index`` of ``genre``: ``blues.00007.wav``."""
    return f"{genre}.{index:05d}.wav"
