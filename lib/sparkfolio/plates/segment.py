"""Character segmentation of a plate image: binarise, find the row of glyphs, group their parts.

A plate crop (deskewed, plate roughly filling the image) is binarised several ways (both text
polarities: black-on-white plates and the older white-on-green ones). Connected components
whose height agrees form the glyph *band*; every component inside the band is then merged with
the components that overlap it horizontally, so a Hangul syllable made of separate jamo (``허`` is
three or four pieces) becomes one or two column groups. Deciding which groups are digits and
which the syllable is left to the format-guided decoder in :mod:`sparkfolio.plates.recognize`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Working height of a plate crop: glyphs of ~60 px are plenty for 32 px templates.
PLATE_HEIGHT = 96


@dataclass(frozen=True)
class Group:
    """A column of ink: one glyph or part of one (x, y, w, h in crop pixels)."""

    x: int
    y: int
    w: int
    h: int
    labels: tuple[int, ...]  # component ids in the label image

    @property
    def x2(self) -> int:
        """Right edge (exclusive)."""
        return self.x + self.w

    @property
    def y2(self) -> int:
        """Bottom edge (exclusive)."""
        return self.y + self.h


@dataclass(frozen=True)
class Row:
    """A band of glyph groups found in one binarisation, left to right.

    The band's top and bottom are straight lines (``y = slope * x + intercept``), not constants:
    a plate seen at an angle keeps some tilt and perspective after deskewing, and its glyphs
    shrink towards the far side.
    """

    groups: tuple[Group, ...]
    top_line: tuple[float, float]
    bottom_line: tuple[float, float]
    label_img: np.ndarray  # connected-component labels of the binarisation
    polarity: str  # "dark" text on a light plate, or "light" text on a dark plate
    upper: bool = False  # the small upper row of a two-row plate

    def band_at(self, x: float) -> tuple[float, float]:
        """Top and bottom of the band at column ``x``."""
        return (self.top_line[0] * x + self.top_line[1], self.bottom_line[0] * x + self.bottom_line[1])

    @property
    def band_height(self) -> float:
        """Median height of the band over its groups, in pixels."""
        hs = [self.height_at(g.x + g.w / 2) for g in self.groups]
        return float(np.median(hs)) if hs else 0.0

    def height_at(self, x: float) -> float:
        """Band height at column ``x``."""
        t, b = self.band_at(x)
        return max(1.0, b - t)

    def mask(self, groups: tuple[Group, ...] | list[Group]) -> np.ndarray:
        """The ink of ``groups`` (255) cropped to their joint bounding box."""
        x0 = min(g.x for g in groups)
        x1 = max(g.x2 for g in groups)
        y0 = min(g.y for g in groups)
        y1 = max(g.y2 for g in groups)
        ids = [i for g in groups for i in g.labels]
        sub = self.label_img[y0:y1, x0:x1]
        return np.isin(sub, ids).astype(np.uint8) * 255


def to_plate_height(gray: np.ndarray, height: int = PLATE_HEIGHT) -> np.ndarray:
    """Resize a plate crop to the working height, keeping its aspect ratio."""
    import cv2

    h, w = gray.shape[:2]
    scale = height / max(1, h)
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return cv2.resize(gray, (max(1, round(w * scale)), height), interpolation=interp)


def binarizations(gray: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """Candidate ink masks of a plate crop: (polarity, method, mask with text = 255).

    Adaptive thresholding copes with shadows across the plate; Otsu on a contrast-equalised copy
    copes with faint, blurred glyphs where the adaptive window sees only grey. Both polarities
    are tried because old green plates carry light text on a dark ground.
    """
    import cv2

    h = gray.shape[0]
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 8))
    eq = clahe.apply(gray)
    blur = cv2.GaussianBlur(eq, (3, 3), 0)
    block = max(3, (h // 2) | 1)
    out: list[tuple[str, str, np.ndarray]] = []
    for polarity, flag in (("dark", cv2.THRESH_BINARY_INV), ("light", cv2.THRESH_BINARY)):
        adaptive = cv2.adaptiveThreshold(blur, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, flag, block, 7)
        out.append((polarity, "adaptive", adaptive))
        _, otsu = cv2.threshold(blur, 0, 255, flag | cv2.THRESH_OTSU)
        out.append((polarity, "otsu", otsu))
    return out


def remove_frame(mask: np.ndarray) -> np.ndarray:
    """Erase long straight strokes (the plate's frame and edges) so glyphs touching them come free.

    In a tight crop the glyphs almost touch the plate border, and one stray pixel joins a digit
    to the frame; no glyph has a horizontal stroke a quarter of the plate wide or a vertical one
    as tall as the whole crop, so opening with such lines finds only the frame.
    """
    import cv2

    H, W = mask.shape
    horiz = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, W // 4), 1)))
    vert = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(H * 0.85)))))
    lines = cv2.dilate(cv2.bitwise_or(horiz, vert), np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(mask, cv2.bitwise_not(lines))


@dataclass(frozen=True)
class Box:
    """A connected component: label id and bounding box."""

    label: int
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> float:
        """Horizontal centre."""
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        """Vertical centre."""
        return self.y + self.h / 2


def components(mask: np.ndarray, min_area: int = 6) -> tuple[np.ndarray, list[Box]]:
    """Label image and bounding boxes of the 8-connected components of a mask."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = [Box(i, *(int(v) for v in stats[i, :4])) for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    return labels, boxes


def char_like(boxes: list[Box], min_h: float, max_h: float, max_w: float) -> list[Box]:
    """Components shaped like a plate glyph: height in range, narrower than tall-and-a-half."""
    return [b for b in boxes if min_h <= b.h <= max_h and b.w <= max_w and 0.08 * b.h <= b.w <= 1.6 * b.h]


def chains(boxes: list[Box], max_angle_deg: float = 15.0, max_gap: float = 2.4, min_len: int = 3) -> list[list[Box]]:
    """Rows of glyph-like boxes: neighbours of similar height, roughly in line, close together.

    Two boxes are linked when their heights agree within 25 %, the horizontal gap between their
    centres is at most ``max_gap`` glyph heights (the Hangul syllable between digit groups may be
    missing from the candidates) and the line between them is within ``max_angle_deg`` of
    horizontal. Linked boxes form chains (connected components of the link graph), the classic
    way to find a plate's character row without knowing where the plate is. Longest first.
    """
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    slope = np.tan(np.deg2rad(max_angle_deg))
    order = sorted(range(n), key=lambda i: boxes[i].cx)
    for ai, a in enumerate(order):
        ba = boxes[a]
        for b in order[ai + 1:]:
            bb = boxes[b]
            hmax = max(ba.h, bb.h)
            dx = bb.cx - ba.cx
            if dx > max_gap * hmax:
                break
            if abs(ba.h - bb.h) > 0.25 * hmax or dx < 0.2 * min(ba.h, bb.h):
                continue
            if abs(bb.cy - ba.cy) > 0.15 * hmax + dx * slope:
                continue
            parent[find(a)] = find(b)
    found: dict[int, list[Box]] = {}
    for i in range(n):
        found.setdefault(find(i), []).append(boxes[i])
    out = [sorted(c, key=lambda b: b.cx) for c in found.values() if len(c) >= min_len]
    out.sort(key=lambda c: (-len(c), -float(np.median([b.h for b in c]))))
    return out


def chain_score(chain: list[Box]) -> float:
    """Plate-likeness of a chain: up to 7 glyphs of even height, evenly spaced.

    Length counts only up to 7: the gaps between glyphs, frame ends and bolts make longer but
    ragged chains, and regularity is what tells a plate's lettering from them.
    """
    hs = np.array([b.h for b in chain], float)
    n = len(chain)
    count = min(n, 7) - 0.7 * max(0, n - 10)
    even = 1.0 - min(1.0, float(np.std(hs) / np.mean(hs)) * 4)
    gaps = np.diff([b.cx for b in chain])
    spacing = 1.0 - min(1.0, float(np.std(gaps) / (np.mean(gaps) + 1e-6)))
    return count + 3.0 * even + 3.0 * spacing + 0.002 * float(np.mean(hs))


def chain_angle(chain: list[Box]) -> float:
    """Tilt of a chain in degrees (positive: the row descends to the right), least squares."""
    if len(chain) < 2:
        return 0.0
    xs = np.array([b.cx for b in chain])
    # Bottoms are steadier than centres: Hangul and digits share the baseline more than the top.
    ys = np.array([b.y + b.h for b in chain], float)
    if np.ptp(xs) < 1:
        return 0.0
    slope = np.polyfit(xs, ys, 1)[0]
    return float(np.rad2deg(np.arctan(slope)))


def rotate(gray: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate an image about its centre by ``angle_deg`` (clockwise), edges replicated."""
    import cv2

    h, w = gray.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    return cv2.warpAffine(gray, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def crop_skew(gray: np.ndarray) -> float:
    """The tilt of the glyph row in a plate crop, from the most plate-like chain found.

    The most plate-like, not the longest: in the wrong polarity the gaps between glyphs and the
    frame's ends form long but ragged chains.
    """
    best: tuple[float, float] | None = None
    H, W = gray.shape
    for _, _, mask in binarizations(gray):
        _, boxes = components(remove_frame(mask))
        for ch in chains(char_like(boxes, 0.25 * H, 0.95 * H, 0.3 * W))[:2]:
            sc = chain_score(ch)
            if best is None or sc > best[0]:
                best = (sc, chain_angle(ch))
    return 0.0 if best is None else best[1]


def find_rows(mask: np.ndarray, polarity: str, min_height: float = 0.25, max_height: float = 0.95,
              ) -> list[Row]:
    """Glyph bands in an ink mask: the largest set of components of agreeing height and position.

    Returns the main band and, for two-row plates, a band of smaller glyphs above it. The crop
    should be deskewed first (:func:`crop_skew`, :func:`rotate`); the band lines absorb what
    tilt and perspective remain.
    """
    H, W = mask.shape
    labels, boxes = components(remove_frame(mask))
    rows: list[Row] = []
    members = _best_band(boxes, H, W, min_height * H, max_height * H)
    if members is None:
        return rows
    top_line, bottom_line = _fit_band(members)
    row = _row_in_band(boxes, labels, top_line, bottom_line, polarity, upper=False)
    if row is None:
        return rows
    rows.append(row)
    band_h = row.band_height
    # Two-row plates: a small class number and syllable above four large digits.
    above = [b for b in boxes if b.y + b.h <= top_line[0] * b.cx + top_line[1] + 0.15 * band_h]
    upper_members = _best_band(above, H, W, 0.2 * band_h, 0.8 * band_h, squat=True)
    if upper_members is not None:
        ut, ub = _fit_band(upper_members)
        urow = _row_in_band(above, labels, ut, ub, polarity, upper=True)
        if urow is not None and len(urow.groups) >= 2:
            rows.append(urow)
    return rows


def _best_band(boxes: list[Box], H: int, W: int, lo: float, hi: float, squat: bool = False,
               ) -> list[Box] | None:
    """The largest set of glyph-sized boxes sharing a band (agreeing height and vertical place).

    ``squat`` admits glyphs wider than tall (the small upper row of two-row plates).
    """
    max_aspect = 1.8 if squat else 1.6
    cand = [b for b in boxes if lo <= b.h <= hi and b.w <= 0.3 * W and 0.08 * b.h <= b.w <= max_aspect * b.h]
    best: tuple[float, list[Box]] | None = None
    for ref in cand:
        members = [b for b in cand
                   if abs(b.h - ref.h) <= 0.2 * ref.h and _overlap(b.y, b.y + b.h, ref.y, ref.y + ref.h) >= 0.6 * min(ref.h, b.h)]
        if len(members) < 3:
            continue
        spread = np.ptp([b.cx for b in members]) / max(1, W)
        score = len(members) + 0.5 * spread + 0.01 * float(np.median([b.h for b in members])) / H
        if best is None or score > best[0]:
            best = (score, members)
    return None if best is None else best[1]


def _fit_band(members: list[Box]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Straight top and bottom lines through the members (level lines when too few to fit)."""
    xs = np.array([b.cx for b in members])
    tops = np.array([b.y for b in members], float)
    bottoms = np.array([b.y + b.h for b in members], float)
    if len(members) >= 4 and np.ptp(xs) > 0:
        # Fit, drop the worst member (a Hangul taller than the digits), fit again.
        lines = []
        for ys in (tops, bottoms):
            a, b = np.polyfit(xs, ys, 1)
            res = np.abs(ys - (a * xs + b))
            keep = np.ones(len(ys), bool)
            keep[int(np.argmax(res))] = False
            a, b = np.polyfit(xs[keep], ys[keep], 1)
            a = float(np.clip(a, -0.15, 0.15))
            b = float(np.median(ys[keep] - a * xs[keep]))
            lines.append((a, b))
        return lines[0], lines[1]
    return (0.0, float(np.median(tops))), (0.0, float(np.median(bottoms)))


def _row_in_band(boxes: list[Box], labels: np.ndarray, top_line: tuple[float, float],
                 bottom_line: tuple[float, float], polarity: str, upper: bool) -> Row | None:
    """Components inside a band, merged into column groups, noise columns removed."""

    def band(x: float) -> tuple[float, float, float]:
        t = top_line[0] * x + top_line[1]
        b = bottom_line[0] * x + bottom_line[1]
        return t, b, max(1.0, b - t)

    inside = []
    for c in boxes:
        t, b, bh = band(c.cx)
        if (c.y >= t - 0.2 * bh and c.y + c.h <= b + 0.2 * bh and c.h <= 1.25 * bh and c.w <= 1.5 * bh
                and c.w * c.h >= 0.004 * bh * bh):
            inside.append(c)
    inside.sort(key=lambda c: c.x)
    groups: list[list[Box]] = []
    for c in inside:
        if groups:
            gx0 = min(m.x for m in groups[-1])
            gx1 = max(m.x + m.w for m in groups[-1])
            gy0 = min(m.y for m in groups[-1])
            gy1 = max(m.y + m.h for m in groups[-1])
            ov = _overlap(gx0, gx1, c.x, c.x + c.w)
            vov = _overlap(gy0, gy1, c.y, c.y + c.h)
            # Stacked pieces (the jamo of 호, a broken stroke) join one column; pieces side by
            # side that only overlap because the glyphs slant (a frame bar and a 4) do not.
            if ov >= 0.5 * min(c.w, gx1 - gx0) and vov <= 0.35 * min(c.h, gy1 - gy0):
                groups[-1].append(c)
                continue
        groups.append([c])
    out: list[Group] = []
    for g in groups:
        x0 = min(m.x for m in g)
        x1 = max(m.x + m.w for m in g)
        y0 = min(m.y for m in g)
        y1 = max(m.y + m.h for m in g)
        # A column shorter than a third of the band is a bolt, a dash or dirt, never a glyph
        # (Hangul pieces too short alone were merged with their column above).
        if (y1 - y0) < 0.3 * band((x0 + x1) / 2)[2]:
            continue
        out.append(Group(x0, y0, x1 - x0, y1 - y0, tuple(m.label for m in g)))
    if len(out) < 3:
        return None
    return Row(tuple(out), top_line, bottom_line, labels, polarity, upper)


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))
