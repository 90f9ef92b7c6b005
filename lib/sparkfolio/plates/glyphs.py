"""Per-character recognition by matching against glyphs rendered from the Nanum fonts.

Tesseract reads a whole plate line well when the image is clean, but on small, blurred camera
crops it confuses Hangul syllables and drops characters. A plate holds only digits and ~40 legal
syllables, so each segmented glyph is compared with a bank of templates of exactly those
characters, rendered from several Nanum faces with the distortions cameras add (condensed or
wide strokes, shear, rotation, blur). The bank is built once per Python process from a seed, so
every executor holds the same templates and results are reproducible.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparkfolio.runtime.errors import DependencyError
from sparkfolio.runtime.paths import cache_dir

log = logging.getLogger(__name__)

FONT_DIR = "/usr/share/fonts/truetype/nanum"
#: Sans-serif faces only: plate lettering is a plain gothic, never a serif like Myeongjo.
GLYPH_FONTS = (
    "NanumGothicBold.ttf", "NanumGothic.ttf", "NanumBarunGothicBold.ttf", "NanumBarunGothic.ttf",
    "NanumSquareB.ttf", "NanumSquareR.ttf", "NanumSquareRoundB.ttf", "NanumGothicCodingBold.ttf",
)
#: Side of the normalised glyph square the features are computed on.
GLYPH_SIZE = 32
_RENDER_PX = 128


def find_fonts(font_dir: str = FONT_DIR, names: tuple[str, ...] = GLYPH_FONTS) -> list[str]:
    """The installed font files among ``names`` (at least one must exist).

    Raises
    ------
    DependencyError
        None of the Nanum fonts is installed.
    """
    found = [str(Path(font_dir) / n) for n in names if (Path(font_dir) / n).exists()]
    if not found:
        raise DependencyError(f"no Nanum fonts in {font_dir}: install fonts-nanum (apt-get install fonts-nanum)")
    return found


def render_glyph(ch: str, font_path: str, px: int = _RENDER_PX) -> np.ndarray:
    """``ch`` drawn white on black at ``px`` points, cropped to its ink (uint8 mask)."""
    from PIL import Image, ImageDraw

    font = _font(font_path, px)
    img = Image.new("L", (px * 2, px * 2), 0)
    ImageDraw.Draw(img).text((px // 2, px // 4), ch, fill=255, font=font)
    arr = np.asarray(img)
    return crop_to_ink(arr)


@functools.lru_cache(maxsize=64)
def _font(path: str, px: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    return ImageFont.truetype(path, px)


def crop_to_ink(mask: np.ndarray) -> np.ndarray:
    """The smallest sub-array holding every non-zero pixel (the array itself when blank)."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return mask
    return mask[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def deslant(mask: np.ndarray) -> np.ndarray:
    """Undo the slant of a glyph mask: shear it so its ink has no x-y covariance.

    A camera looking at a plate from the side slants every glyph; templates and queries are
    both deslanted the same way, so the slant stops mattering (the classic moment deskew).
    """
    import cv2

    m = cv2.moments((mask > 0).astype(np.uint8), True)
    if m["mu02"] < 1e-2 or m["m00"] < 1:
        return mask
    skew = float(np.clip(m["mu11"] / m["mu02"], -0.6, 0.6))
    h, w = mask.shape
    pad = int(abs(skew) * h) + 2
    cy = m["m01"] / m["m00"]
    shear = np.float32([[1, -skew, skew * cy + pad], [0, 1, 0]])
    return cv2.warpAffine(mask, shear, (w + 2 * pad, h), flags=cv2.INTER_NEAREST)


def normalize_glyph(mask: np.ndarray, size: int = GLYPH_SIZE) -> np.ndarray:
    """Deslant a glyph mask and fit it into a ``size`` square keeping its aspect ratio.

    Returns float32 in 0..1, centred. Keeping the aspect ratio matters: a stretched ``1``
    would look like a block and match ``8``.
    """
    import cv2

    mask = crop_to_ink(deslant(crop_to_ink(mask)))
    h, w = mask.shape[:2]
    if h == 0 or w == 0:
        return np.zeros((size, size), np.float32)
    inner = size - 4
    scale = inner / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(mask.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((size, size), np.float32)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    out[y0: y0 + nh, x0: x0 + nw] = small / max(1.0, float(small.max()))
    return out


def hog(imgs: np.ndarray, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Histograms of oriented gradients of a stack of square images, one row per image.

    Per cell, gradient magnitude is binned by unsigned angle (linear vote between two bins);
    blocks of 2x2 cells are L2-normalised (the Dalal-Triggs layout) so lighting and stroke
    contrast do not change the descriptor. Vectorised over the stack because the glyph bank
    computes thousands at once; written here because OpenCV 5 moved ``HOGDescriptor`` out.
    """
    imgs = np.asarray(imgs, np.float32)
    if imgs.ndim == 2:
        imgs = imgs[None]
    n, h, w = imgs.shape
    gx = np.zeros_like(imgs)
    gy = np.zeros_like(imgs)
    gx[:, :, 1:-1] = imgs[:, :, 2:] - imgs[:, :, :-2]
    gy[:, 1:-1, :] = imgs[:, 2:, :] - imgs[:, :-2, :]
    mag = np.hypot(gx, gy)
    pos = ((np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0) / (180.0 / bins)
    lo = np.floor(pos).astype(np.int64) % bins
    w_hi = (pos - np.floor(pos)).astype(np.float32)
    ch, cw = h // cell, w // cell
    # One bincount over (image, cell row, cell col, bin) beats a Python loop over bins.
    cell_id = ((np.arange(h) // cell).clip(max=ch - 1)[:, None] * cw
               + (np.arange(w) // cell).clip(max=cw - 1)[None, :])
    base = (np.arange(n)[:, None, None] * (ch * cw) + cell_id[None]) * bins
    size = n * ch * cw * bins
    hist = (np.bincount((base + lo).ravel(), (mag * (1 - w_hi)).ravel(), size)
            + np.bincount((base + (lo + 1) % bins).ravel(), (mag * w_hi).ravel(), size))
    hist = hist.astype(np.float32).reshape(n, ch, cw, bins)
    blocks = np.concatenate(
        [hist[:, :-1, :-1], hist[:, :-1, 1:], hist[:, 1:, :-1], hist[:, 1:, 1:]], axis=-1
    )  # (n, ch-1, cw-1, 4*bins)
    blocks /= np.linalg.norm(blocks, axis=-1, keepdims=True) + 1e-6
    return blocks.reshape(n, -1)


def glyph_features(norms: np.ndarray) -> np.ndarray:
    """Feature vectors of normalised glyphs (one per row): HOG plus a coarse ink map.

    The coarse 8x8 ink map tells apart glyphs whose stroke directions agree but whose mass sits
    elsewhere (``6`` / ``9``); rows are L2-normalised so cosine similarity is a dot product.
    """
    norms = np.asarray(norms, np.float32)
    single = norms.ndim == 2
    if single:
        norms = norms[None]
    n, s, _ = norms.shape
    h = hog(norms)
    h /= np.linalg.norm(h, axis=1, keepdims=True) + 1e-6
    coarse = norms.reshape(n, 8, s // 8, 8, s // 8).mean(axis=(2, 4)).reshape(n, -1)
    coarse /= np.linalg.norm(coarse, axis=1, keepdims=True) + 1e-6
    vec = np.concatenate([h, 0.6 * coarse], axis=1)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True) + 1e-6
    return vec[0] if single else vec


def augment(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A randomly distorted copy of a rendered glyph: width, stroke weight, shear, rotation, blur.

    These are the ways a plate glyph seen by a camera differs from a clean font glyph: plate
    lettering is condensed, cameras look from the side (shear), and small crops blur and bleed.
    """
    import cv2

    h, w = mask.shape
    pad = 16
    img = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    sx = rng.uniform(0.6, 1.15)
    shear = rng.uniform(-0.22, 0.22)
    angle = np.deg2rad(rng.uniform(-5, 5))
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    lin = rot @ np.array([[sx, shear], [0.0, 1.0]])
    cx, cy = img.shape[1] / 2, img.shape[0] / 2
    off = np.array([cx, cy]) - lin @ np.array([cx, cy])
    m = np.hstack([lin, off[:, None]]).astype(np.float32)
    out_w = int(img.shape[1] * max(1.0, sx) + abs(shear) * img.shape[0])
    m[0, 2] += (out_w - img.shape[1]) / 2
    img = cv2.warpAffine(img, m, (out_w, img.shape[0]), flags=cv2.INTER_LINEAR)
    # Stroke weight: plate lettering is bolder or lighter than the font depending on the face.
    weight = int(rng.integers(-1, 4))  # in ~1.5 % of the glyph height each
    if weight:
        r = max(1, round(abs(weight) * h * 0.015))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        thick = cv2.dilate(img, k) if weight > 0 else cv2.erode(img, k)
        if thick.max() > 0:
            img = thick
    # Seen small: shrink to a camera-like height, blur, threshold back at a level relative to
    # the ink, so thin strokes survive (a fixed level would erase them).
    small_h = int(rng.integers(20, 64))
    scale = small_h / max(1, h)
    small = cv2.resize(img, (max(1, int(img.shape[1] * scale)), max(1, int(img.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    if rng.random() < 0.7:
        small = cv2.GaussianBlur(small, (3, 3), rng.uniform(0.3, 1.0))
    top = float(small.max())
    if top <= 0:
        return mask
    out = (small > rng.uniform(0.3, 0.5) * top).astype(np.uint8) * 255
    return out if out.any() else mask


@dataclass(frozen=True)
class GlyphBank:
    """Rendered template glyphs, grouped by character, in two feature spaces.

    ``features`` are the raw descriptors; ``projected`` the same templates in a discriminant
    (LDA) space fitted on them, which weighs the few strokes that tell similar syllables apart
    (the side of the short stroke in ``가``/``거``) above the many they share. Rows are sorted by
    character so the best match per character is one ``maximum.reduceat``.
    """

    features: np.ndarray  # (n, d) float32, rows L2-normalised, sorted by character
    projected: np.ndarray  # (n, k) float32, LDA space, rows L2-normalised
    projection: np.ndarray  # (d, k) float32
    labels: np.ndarray  # (n,) the character of each row
    charset: str  # the distinct characters, in row order
    starts: np.ndarray  # index of each character's first row

    @classmethod
    def from_samples(cls, features: np.ndarray, labels: list[str], reg: float = 0.1) -> "GlyphBank":
        """A bank from unsorted samples; fits the discriminant projection on them."""
        lab = np.array(labels)
        order = np.argsort(lab, kind="stable")
        lab = lab[order]
        feats = np.ascontiguousarray(features[order], dtype=np.float32)
        chars, starts = np.unique(lab, return_index=True)
        proj = lda_projection(feats, lab, reg=reg)
        projected = feats @ proj
        projected /= np.linalg.norm(projected, axis=1, keepdims=True) + 1e-6
        return cls(feats, projected.astype(np.float32), proj, lab, "".join(chars), starts)

    def similarities(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best cosine similarity of each query row to each character: (raw, discriminant)."""
        feats = np.atleast_2d(feats).astype(np.float32)
        raw = np.maximum.reduceat(feats @ self.features.T, self.starts, axis=1)
        q = feats @ self.projection
        q /= np.linalg.norm(q, axis=1, keepdims=True) + 1e-6
        lda = np.maximum.reduceat(q @ self.projected.T, self.starts, axis=1)
        return raw, lda

    def scores(self, feat: np.ndarray, allowed: str, alpha: float = 0.5) -> dict[str, float]:
        """Blended similarity of one glyph to each allowed character (``alpha`` = LDA weight)."""
        raw, lda = self.similarities(feat)
        best = (1 - alpha) * raw[0] + alpha * lda[0]
        return {ch: float(best[i]) for i, ch in enumerate(self.charset) if ch in allowed}

    def classify(self, feat: np.ndarray, allowed: str, alpha: float = 0.5) -> tuple[str, float, float]:
        """The most similar allowed character, its similarity and the margin to the runner-up."""
        ranked = sorted(self.scores(feat, allowed, alpha).items(), key=lambda kv: kv[1], reverse=True)
        if not ranked:
            return "", 0.0, 0.0
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        return ranked[0][0], ranked[0][1], ranked[0][1] - second


def lda_projection(x: np.ndarray, y: np.ndarray, reg: float = 0.1) -> np.ndarray:
    """Fisher discriminant directions of samples ``x`` with labels ``y`` (d x (classes-1)).

    The within-class scatter is shrunk towards its mean variance by ``reg`` so the solve is
    stable with few samples per class.
    """
    from scipy.linalg import eigh

    x = x.astype(np.float64)
    mu = x.mean(axis=0)
    d = x.shape[1]
    sw = np.zeros((d, d))
    sb = np.zeros((d, d))
    classes = np.unique(y)
    for c in classes:
        xc = x[y == c]
        mc = xc.mean(axis=0)
        dev = xc - mc
        sw += dev.T @ dev
        sb += len(xc) * np.outer(mc - mu, mc - mu)
    sw /= len(x)
    sb /= len(x)
    sw += reg * np.trace(sw) / d * np.eye(d)
    vals, vecs = eigh(sb, sw)
    keep = np.argsort(-vals)[: max(1, len(classes) - 1)]
    return vecs[:, keep].astype(np.float32)


def build_bank(charset: str, fonts: list[str], variants: int = 24, seed: int = 7) -> GlyphBank:
    """Render every character of ``charset`` in every font, plus ``variants`` distorted copies."""
    rng = np.random.default_rng(seed)
    norms: list[np.ndarray] = []
    labels: list[str] = []
    for font in fonts:
        for ch in charset:
            base = render_glyph(ch, font)
            norms.append(normalize_glyph(base))
            labels.append(ch)
            for _ in range(variants):
                norms.append(normalize_glyph(augment(base, rng)))
                labels.append(ch)
    return GlyphBank.from_samples(glyph_features(np.stack(norms)), labels)


#: Bump when rendering, augmentation or features change, so stale disk caches are not reused.
BANK_VERSION = 3


@functools.lru_cache(maxsize=4)
def cached_bank(charset: str, font_dir: str = FONT_DIR, variants: int = 24, seed: int = 7) -> GlyphBank:
    """The bank for these settings, built once per Python process (executors reuse workers).

    Building takes seconds, so the arrays are also kept on the local disk (``SPARKFOLIO_CACHE``,
    default ``~/.cache/sparkfolio``) under a key of every input (characters, font files,
    variants, seed, code version); a worker on the same host then loads them in milliseconds.
    A cache that cannot be read or written is skipped, never an error.
    """
    fonts = find_fonts(font_dir)
    key = _bank_key(charset, fonts, variants, seed)
    path = cache_dir() / f"glyphs-{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            bank = GlyphBank(z["features"], z["projected"], z["projection"], z["labels"], str(z["charset"]), z["starts"])
        log.info("glyph bank loaded from %s", path)
        return bank
    except (OSError, KeyError, ValueError):
        pass
    bank = build_bank(charset, fonts, variants=variants, seed=seed)
    log.info("glyph bank: %d templates of %d characters from %d fonts (pid %d)",
             len(bank.labels), len(charset), len(fonts), os.getpid())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, features=bank.features, projected=bank.projected, projection=bank.projection,
                 labels=bank.labels, charset=np.array(bank.charset), starts=bank.starts)
        os.replace(tmp, path)  # atomic: concurrent workers never see a half-written file
    except OSError as exc:
        log.warning("glyph bank not cached (%s)", exc)
    return bank


def _bank_key(charset: str, fonts: list[str], variants: int, seed: int) -> str:
    import hashlib

    h = hashlib.sha256()
    h.update(f"{BANK_VERSION}|{charset}|{variants}|{seed}|{GLYPH_SIZE}".encode())
    for f in fonts:
        st = os.stat(f)
        h.update(f"|{os.path.basename(f)}:{st.st_size}".encode())
    return h.hexdigest()[:16]
