"""Finding plates in a photo: chains of character-like contours, deskewed and cropped.

The classic OpenCV recipe: grayscale, blur, adaptive threshold, contours; keep the boxes shaped
like plate glyphs; link neighbours of equal height lying in a line into chains; a chain of four
or more is a plate candidate. Its tilt (from the glyph baselines) is undone and the plate,
with a margin, is cut out for reading. Several thresholds and both text polarities are tried;
overlapping candidates are merged, and the best few go on to recognition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sparkfolio.plates.segment import Box, chain_angle, chain_score, chains, char_like, components

#: Photos are searched at most this size (long side); plates stay well above glyph size.
SEARCH_SIDE = 1280


@dataclass(frozen=True)
class Candidate:
    """A plate region: the deskewed crop and where it lies in the original image."""

    crop: np.ndarray  # grayscale, deskewed
    quad: tuple[tuple[float, float], ...]  # the crop's 4 corners in image pixels (tl, tr, br, bl)
    angle: float  # degrees the crop was rotated by
    score: float  # how plate-like the chain is (higher is better)
    source: str  # "chain" or "image"
    to_image: np.ndarray  # 2x3 affine map from crop pixels to image pixels

    def map_to_image(self, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Crop pixel coordinates as image pixel coordinates."""
        a = np.asarray(pts, float) @ self.to_image[:, :2].T + self.to_image[:, 2]
        return [(float(x), float(y)) for x, y in a]

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Axis-aligned bounding box (x, y, w, h) of the quad, in image pixels."""
        return bounding_box(self.quad)


def bounding_box(quad: Any) -> tuple[int, int, int, int]:
    """Axis-aligned bounding box (x, y, w, h) of a list of points, in whole pixels."""
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    x0, y0 = int(np.floor(min(xs))), int(np.floor(min(ys)))
    return x0, y0, int(np.ceil(max(xs))) - x0, int(np.ceil(max(ys))) - y0


def whole_image(gray: np.ndarray, score: float = 0.0) -> Candidate:
    """The image itself as a candidate: the input may already be a plate crop."""
    h, w = gray.shape[:2]
    return Candidate(gray, ((0, 0), (w, 0), (w, h), (0, h)), 0.0, score, "image",
                     np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))


def find_candidates(gray: np.ndarray, max_candidates: int = 3, min_chain: int = 4) -> list[Candidate]:
    """Plate candidates in a grayscale photo, best first.

    Parameters
    ----------
    gray:
        The image (uint8, one channel).
    max_candidates:
        How many regions to return at most.
    min_chain:
        Fewest linked glyph boxes that make a candidate (a plate has 7 to 9 glyphs, but some
        are always lost to glare or dirt).
    """
    import cv2

    H0, W0 = gray.shape[:2]
    scale = min(1.0, SEARCH_SIDE / max(H0, W0))
    small = cv2.resize(gray, (round(W0 * scale), round(H0 * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else gray
    H, W = small.shape
    blur = cv2.GaussianBlur(small, (5, 5), 0)
    found: list[tuple[float, list[Box]]] = []
    line_len = max(25, W // 25)
    lines_kernel = (cv2.getStructuringElement(cv2.MORPH_RECT, (line_len, 1)),
                    cv2.getStructuringElement(cv2.MORPH_RECT, (1, line_len)))
    for block in (19, 41):
        for flag in (cv2.THRESH_BINARY_INV, cv2.THRESH_BINARY):
            mask = cv2.adaptiveThreshold(blur, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, flag, block, 9)
            # Glyphs touching a plate frame, a bumper edge or a drawn box join them into one
            # big component; a copy with long straight lines erased frees them.
            lines = cv2.bitwise_or(*(cv2.morphologyEx(mask, cv2.MORPH_OPEN, k) for k in lines_kernel))
            for m in (mask, cv2.bitwise_and(mask, cv2.bitwise_not(cv2.dilate(lines, np.ones((3, 3), np.uint8))))):
                _, boxes = components(m, min_area=12)
                glyphs = char_like(boxes, max(8, 0.012 * H), 0.3 * H, 0.08 * W)
                glyphs = [b for b in glyphs if 0.2 * b.h <= b.w <= 1.1 * b.h]
                for ch in chains(glyphs, max_angle_deg=20.0, max_gap=1.8, min_len=min_chain):
                    found.append((chain_score(ch), ch))
    found.sort(key=lambda t: -t[0])
    out: list[Candidate] = []
    taken: list[tuple[float, float, float, float]] = []
    for score, ch in found:
        rect = _extent(ch)
        if any(_iou(rect, t) > 0.3 for t in taken):
            continue
        taken.append(rect)
        out.append(_cut(gray, ch, 1.0 / scale, score))
        if len(out) >= max_candidates:
            break
    return out


def _extent(chain: list[Box]) -> tuple[float, float, float, float]:
    x0 = min(b.x for b in chain)
    y0 = min(b.y for b in chain)
    x1 = max(b.x + b.w for b in chain)
    y1 = max(b.y + b.h for b in chain)
    return float(x0), float(y0), float(x1), float(y1)


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _cut(gray: np.ndarray, chain: list[Box], up: float, score: float) -> Candidate:
    """Rotate the chain level and cut the plate around it (in full-resolution pixels).

    The margin is generous above a short chain: the four large digits of a two-row plate
    carry the small class number and syllable above them.
    """
    import cv2

    angle = chain_angle(chain)
    h = float(np.median([b.h for b in chain])) * up
    x0, y0, x1, y1 = (v * up for v in _extent(chain))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    a = np.deg2rad(angle)
    # Extent of the chain measured along its own axis.
    # Wide margins: a regional prefix (서울) is often not part of the chain.
    half_w = (x1 - x0) / 2 / max(0.5, np.cos(a)) + 1.6 * h
    top = 1.2 * h if len(chain) <= 5 else 0.55 * h
    bottom = 0.55 * h
    half_h = h / 2
    out_w = max(8, int(round(2 * half_w)))
    out_h = max(8, int(round(2 * half_h + top + bottom)))
    m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    # Shift so the chain's centre lands at the crop's (half_w, top + half_h).
    m[0, 2] += half_w - cx
    m[1, 2] += top + half_h - cy
    crop = cv2.warpAffine(gray, m, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    inv = cv2.invertAffineTransform(m)
    corners = [(0, 0), (out_w, 0), (out_w, out_h), (0, out_h)]
    quad = tuple((float(inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]), float(inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]))
                 for x, y in corners)
    return Candidate(crop, quad, angle, score, "chain", inv)
