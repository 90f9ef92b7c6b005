"""Plots: per-clip waveform and mel-spectrogram PNGs (rendered on executors) and small summaries.

Executors render with a bare ``Figure`` on the Agg canvas (no pyplot global state, so it is safe in
any process); the driver's summary figures come from small aggregates only.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def _png(fig: Figure, dpi: int = 100) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def waveform_png(y: np.ndarray, sr: int, title: str) -> bytes:
    """PNG of the clip's waveform (amplitude against seconds)."""
    import librosa.display

    fig = Figure(figsize=(9, 2.6))
    ax = fig.add_subplot()
    librosa.display.waveshow(y, sr=sr, ax=ax, color="steelblue")
    ax.set(title=f"{title}: waveform", xlabel="time (s)", ylabel="amplitude")
    return _png(fig)


def melspec_png(y: np.ndarray, sr: int, title: str, n_fft: int = 2048, hop_length: int = 512) -> bytes:
    """PNG of the clip's mel spectrogram in dB relative to its loudest bin."""
    import librosa
    import librosa.display

    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length)
    db = librosa.power_to_db(mel, ref=np.max)
    fig = Figure(figsize=(9, 3.6))
    ax = fig.add_subplot()
    img = librosa.display.specshow(db, sr=sr, hop_length=hop_length, x_axis="time", y_axis="mel", ax=ax,
                                   cmap="magma")
    fig.colorbar(img, ax=ax, format="%+2.0f dB")
    ax.set(title=f"{title}: mel spectrogram")
    return _png(fig)


GENRE_PLOT_FEATURES = ("tempo", "spectral_centroid_mean", "rms_mean", "zero_crossing_rate_mean",
                       "chroma_stft_mean", "perceptr_var")


def genre_features_figure(means: pd.DataFrame) -> Any:
    """Bar charts of a few summary features averaged per genre (``means``: genre + feature columns)."""
    cols = [c for c in GENRE_PLOT_FEATURES if c in means.columns]
    fig = Figure(figsize=(12, 2.8 * ((len(cols) + 2) // 3)))
    FigureCanvasAgg(fig)
    data = means.sort_values("genre")
    for i, col in enumerate(cols):
        ax = fig.add_subplot((len(cols) + 2) // 3, 3, i + 1)
        ax.bar(data["genre"], data[col], color="steelblue")
        ax.set_title(col)
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    fig.suptitle("summary features: mean per genre")
    fig.tight_layout()
    return fig


def neighbour_genre_figure(matrix: pd.DataFrame) -> Any:
    """Heat map of where each genre's nearest neighbours come from (rows sum to 1)."""
    fig = Figure(figsize=(7.5, 6.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    img = ax.imshow(matrix.to_numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=60, ha="right")
    ax.set_yticks(range(len(matrix.index)), matrix.index)
    for (i, j), v in np.ndenumerate(matrix.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.6 else "black")
    ax.set(xlabel="neighbour genre", ylabel="query genre", title="share of top-k neighbours by genre")
    fig.colorbar(img, ax=ax)
    return fig
