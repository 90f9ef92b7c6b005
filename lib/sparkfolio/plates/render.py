"""Synthetic Korean plates: white plates with valid numbers, placed in cluttered scenes.

Each image is a pure function of ``(seed, index)``, so any Spark task renders the same image
for the same index and a re-run rebuilds a byte-identical set. Plates follow the real layout
(520 x 110 mm, black border, two bolts, condensed bold gothic lettering with a gap before the
serial digits); scenes add what a roadside camera adds: perspective, rotation, blur, sensor
noise, uneven lighting, background clutter and JPEG compression.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from sparkfolio.plates import formats as F_

#: Faces used for plate lettering (bold gothics look like the real plate font).
PLATE_FONTS = ("NanumGothicBold.ttf", "NanumBarunGothicBold.ttf", "NanumSquareB.ttf", "NanumSquareRoundB.ttf")
#: Plate size in pixels at the render scale (the real plate is 520 x 110 mm).
PLATE_W, PLATE_H = 520, 110


@dataclass(frozen=True)
class SceneSpec:
    """Ranges of the random distortions applied to each scene (plain values)."""

    width: int = 640
    height: int = 480
    scene: bool = True  # False: the plate crop alone (lightly distorted)
    share_3digit: float = 0.25
    share_regional: float = 0.1
    plate_width: tuple[float, float] = (0.3, 0.6)  # of the scene width
    max_rotation_deg: float = 8.0
    max_perspective: float = 0.08  # corner jitter, fraction of the plate size
    max_blur: float = 1.2  # Gaussian sigma in pixels
    max_noise: float = 6.0  # Gaussian noise sigma in grey levels
    jpeg_quality: tuple[int, int] = (70, 95)


@dataclass(frozen=True)
class Rendered:
    """One synthetic image, its label and where the plate lies in it."""

    jpeg: bytes
    text: str
    fmt: str
    quad: tuple[tuple[float, float], ...]  # plate corners in the image (tl, tr, br, bl)


def random_plate_text(rng: np.random.Generator, share_3digit: float = 0.25, share_regional: float = 0.1,
                      ) -> tuple[str, str]:
    """A random valid plate number and its format name."""
    hangul = F_.PLATE_HANGUL[int(rng.integers(len(F_.PLATE_HANGUL)))]
    serial = "".join(str(int(d)) for d in rng.integers(0, 10, 4))
    u = rng.random()
    if u < share_regional:
        region = F_.REGIONS[int(rng.integers(len(F_.REGIONS)))]
        cls = str(int(rng.integers(1, 100))) if rng.random() < 0.7 else str(int(rng.integers(1, 10)))
        text, fmt = f"{region}{cls}{hangul}{serial}", "regional"
    elif u < share_regional + share_3digit:
        text, fmt = f"{int(rng.integers(100, 700)):03d}{hangul}{serial}", "3-digit"
    else:
        text, fmt = f"{int(rng.integers(0, 100)):02d}{hangul}{serial}", "2-digit"
    assert F_.plate_format(text) == fmt, text
    return text, fmt


@functools.lru_cache(maxsize=16)
def _font(path: str, px: int):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    return ImageFont.truetype(path, px)


def _glyph(ch: str, font_path: str, height: int, width: int) -> np.ndarray:
    """One character as ink (0..255), scaled to exactly ``height`` x ``width`` (condensed)."""
    import cv2
    from PIL import Image, ImageDraw

    px = 160
    img = Image.new("L", (px * 2, px * 2), 0)
    ImageDraw.Draw(img).text((px // 2, px // 4), ch, fill=255, font=_font(font_path, px))
    arr = np.asarray(img)
    ys, xs = np.nonzero(arr)
    arr = arr[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    return cv2.resize(arr, (max(1, width), max(1, height)), interpolation=cv2.INTER_AREA)


def render_plate(text: str, font_path: str, rng: np.random.Generator) -> np.ndarray:
    """A front view of a white plate carrying ``text`` (grayscale, PLATE_H x PLATE_W)."""
    import cv2

    plate = np.full((PLATE_H, PLATE_W), int(rng.integers(215, 250)), np.uint8)
    border = int(rng.integers(25, 60))
    cv2.rectangle(plate, (3, 3), (PLATE_W - 4, PLATE_H - 4), border, 3)
    for x in (22, PLATE_W - 23):  # the two fixing bolts
        cv2.circle(plate, (x, PLATE_H // 2), 6, int(rng.integers(120, 190)), -1)
    ink = np.zeros_like(plate)
    n = len(text)
    glyph_h = int(PLATE_H * rng.uniform(0.62, 0.72))
    y0 = (PLATE_H - glyph_h) // 2
    # Digits are narrow (about half their height), syllables wider; the serial block is set
    # apart by a gap, as on the road.
    widths = [int(glyph_h * (0.52 if ch.isdigit() else 0.78)) for ch in text]
    gap = int(glyph_h * 0.08)
    split = len(text) - 4
    total = sum(widths) + gap * (n - 1) + int(glyph_h * 0.25)
    scale = min(1.0, (PLATE_W - 70) / total)
    widths = [max(4, int(w * scale)) for w in widths]
    gap = max(1, int(gap * scale))
    x = (PLATE_W - (sum(widths) + gap * (n - 1) + int(glyph_h * 0.25 * scale))) // 2
    for k, (ch, w) in enumerate(zip(text, widths)):
        if k == split:
            x += int(glyph_h * 0.25 * scale)
        g = _glyph(ch, font_path, glyph_h, w)
        ink[y0: y0 + glyph_h, x: x + w] = np.maximum(ink[y0: y0 + glyph_h, x: x + w], g)
        x += w + gap
    text_level = int(rng.integers(10, 45))
    alpha = ink.astype(np.float32) / 255.0
    return (plate * (1 - alpha) + text_level * alpha).astype(np.uint8)


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A cluttered grey scene: gradient, rectangles and lines like a car front and a street."""
    import cv2

    base = rng.uniform(40, 200)
    gy = np.linspace(0, 1, h)[:, None] * rng.uniform(-60, 60)
    gx = np.linspace(0, 1, w)[None, :] * rng.uniform(-60, 60)
    img = np.clip(base + gx + gy, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(6, 16))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(10, h // 3))
        colour = int(rng.integers(0, 256))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
        else:
            cv2.line(img, (x0, y0), (x1, y1), colour, int(rng.integers(1, 6)))
    noise = rng.normal(0, 8, (h // 8 + 1, w // 8 + 1)).astype(np.float32)
    noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def render_scene(seed: int, index: int, spec: SceneSpec, fonts: list[str]) -> Rendered:
    """Image ``index`` of the set made from ``seed``: a plate in a scene (or a crop), as JPEG."""
    import cv2

    rng = np.random.default_rng([seed, index])
    text, fmt = random_plate_text(rng, spec.share_3digit, spec.share_regional)
    plate = render_plate(text, fonts[int(rng.integers(len(fonts)))], rng)
    if spec.scene:
        H, W = spec.height, spec.width
        canvas = _background(H, W, rng)
        pw = W * rng.uniform(*spec.plate_width)
        ph = pw * PLATE_H / PLATE_W
    else:
        pw = float(rng.integers(160, 330))
        ph = pw * PLATE_H / PLATE_W
        W, H = int(pw * rng.uniform(1.04, 1.15)), int(ph * rng.uniform(1.1, 1.4))
        canvas = np.full((H, W), int(rng.integers(20, 90)), np.uint8)
    angle = np.deg2rad(rng.uniform(-spec.max_rotation_deg, spec.max_rotation_deg))
    corners = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
    corners += rng.uniform(-spec.max_perspective, spec.max_perspective, (4, 2)) * [pw, ph]
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = corners @ rot.T
    # Shrink a plate that would not fit once turned, then place it wholly inside the frame.
    span = corners.max(axis=0) - corners.min(axis=0)
    fit = min(1.0, (W - 8) / span[0], (H - 8) / span[1])
    corners *= fit
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    if spec.scene:
        cx = rng.uniform(4 - lo[0], W - 4 - hi[0])
        cy = rng.uniform(4 - lo[1], H - 4 - hi[1])
    else:
        cx, cy = W / 2 - (lo[0] + hi[0]) / 2, H / 2 - (lo[1] + hi[1]) / 2
    dst = (corners + [cx, cy]).astype(np.float32)
    src = np.array([[0, 0], [PLATE_W, 0], [PLATE_W, PLATE_H], [0, PLATE_H]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(plate, m, (W, H), flags=cv2.INTER_AREA)
    cover = cv2.warpPerspective(np.full_like(plate, 255), m, (W, H), flags=cv2.INTER_AREA)
    a = cover.astype(np.float32) / 255.0
    img = canvas * (1 - a) + warped * a
    # Uneven light: a linear ramp across the image, brighter on a random side.
    ramp = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(1.0, 1.3), W)[None, :]
    if rng.random() < 0.5:
        ramp = ramp[:, ::-1]
    img = img * ramp
    sigma = rng.uniform(0, spec.max_blur)
    if sigma > 0.2:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = img + rng.normal(0, rng.uniform(0, spec.max_noise), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    quality = int(rng.integers(spec.jpeg_quality[0], spec.jpeg_quality[1] + 1))
    ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    quad = tuple((float(x), float(y)) for x, y in dst)
    return Rendered(jpg.tobytes(), text, fmt, quad)
