"""Format-guided reading of a segmented plate: which groups are digits, which the syllable.

Each plate format is a slot string (``DDHDDDD`` for ``12가3456``). A dynamic programme walks the
glyph groups of a row left to right and assigns consecutive groups to slots: a digit takes one
group (two when a thin stroke broke), the Hangul syllable one to three (its jamo may be
separate columns), a region syllable one or two. Groups may be skipped (bolts, frame pieces) at
a cost. Each assignment scores the best template similarity among the characters that slot
allows, so a digit can never be read where the syllable must be, and vice versa. The best
format's assignment is the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sparkfolio.plates import formats as F_
from sparkfolio.plates.glyphs import GlyphBank, glyph_features, normalize_glyph
from sparkfolio.plates.segment import Group, Row

#: Slot strings tried for a one-row plate, with the format each produces.
ONE_ROW_LAYOUTS: tuple[tuple[str, str], ...] = (
    ("DDHDDDD", "2-digit"),
    ("DDDHDDDD", "3-digit"),
    ("RRDDHDDDD", "regional"),
    ("RRDHDDDD", "regional"),
)
#: Prior cost of each format: most plates on the road are 2-digit; a longer reading must earn it.
FORMAT_PRIOR = {"2-digit": 0.0, "3-digit": 0.15, "regional": 0.35}
#: Two-row plates are the older, rarer kind.
TWO_ROW_PRIOR = 0.2
#: Two-row plates: the upper row (class number and syllable, maybe a region) over four digits.
UPPER_LAYOUTS: tuple[tuple[str, str], ...] = (
    ("DDH", "2-digit"),
    ("DDDH", "3-digit"),
    ("RRDDH", "regional"),
    ("RRDH", "regional"),
)
LOWER_LAYOUT = "DDDD"

_SPANS = {"D": (1, 2), "H": (1, 2, 3), "R": (1, 2)}
#: Weight of the discriminant (LDA) similarity against the raw one, per slot kind.
SLOT_LDA_WEIGHT = {"D": 0.3, "H": 1.0}
#: A slot must earn its place: similarities below this lower the total.
_BASELINE = 0.75


@dataclass
class Reading:
    """The decoded text of a row (or two) with per-character evidence."""

    text: str
    fmt: str | None
    chars: list[tuple[str, float, float]] = field(default_factory=list)  # (char, similarity, margin)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # per char, crop pixels
    score: float = 0.0  # the decoder's objective (higher is better)
    ink: np.ndarray | None = None  # the glyphs read (255 on 0), for a second opinion by Tesseract
    rows: int = 1
    quad: list[tuple[float, float]] | None = None  # the glyphs' extent in the input crop (tl, tr, br, bl)

    @property
    def confidence(self) -> float:
        """Mean template similarity of the characters, 0..1."""
        return float(np.mean([c[1] for c in self.chars])) if self.chars else 0.0

    @property
    def min_margin(self) -> float:
        """Smallest lead of a chosen character over its runner-up (low = ambiguous)."""
        return float(min(c[2] for c in self.chars)) if self.chars else 0.0


class _SpanScorer:
    """Template similarities of every plausible group span, computed in one matrix product.

    One (spans x templates) product is far cheaper than a matrix-vector product per span.
    """

    def __init__(self, row: Row, bank: GlyphBank, max_span: int = 3) -> None:
        self.row = row
        self.bank = bank
        n = len(row.groups)
        keys = [(i, j) for i in range(n) for j in range(i + 1, min(n, i + max_span) + 1)
                if self._plausible(i, j)]
        self._index = {k: r for r, k in enumerate(keys)}
        if keys:
            norms = np.stack([normalize_glyph(row.mask(row.groups[i:j])) for i, j in keys])
            self._raw, self._lda = bank.similarities(glyph_features(norms))
        else:
            self._raw = self._lda = np.zeros((0, len(bank.charset)), np.float32)
        self._cls: dict[tuple[int, int, str], tuple[str, float, float]] = {}
        self._pos = {ch: k for k, ch in enumerate(bank.charset)}
        self.digit_w = typical_digit_width(row)

    def _plausible(self, i: int, j: int) -> bool:
        return self.geometry_ok(i, j, "D") or self.geometry_ok(i, j, "H")

    def geometry_ok(self, i: int, j: int, slot: str) -> bool:
        """Whether groups ``i..j`` are shaped like a glyph of ``slot``'s kind."""
        gs = self.row.groups[i:j]
        x0, x1 = gs[0].x, max(g.x2 for g in gs)
        y0, y1 = min(g.y for g in gs), max(g.y2 for g in gs)
        w, h = x1 - x0, y1 - y0
        bh = self.row.height_at((x0 + x1) / 2)
        if slot == "D":
            # The small upper row of a two-row plate uses squat glyphs, wider than tall.
            return h >= 0.55 * bh and w <= (1.4 if self.row.upper else 1.1) * bh
        # A syllable is about as tall as the digits, at least half as wide as tall (a lone
        # vowel stroke is not a syllable) and at most square-and-a-half.
        return h >= 0.5 * bh and 0.35 * bh <= w <= 1.6 * bh

    def has(self, i: int, j: int) -> bool:
        """Whether the span was scored."""
        return (i, j) in self._index

    def scores(self, i: int, j: int, allowed: str) -> dict[str, float]:
        """Best similarity per allowed character for groups ``i..j``."""
        r = self._index[(i, j)]
        # Digits are told apart well by the raw descriptor; syllables need the discriminant one.
        alpha = SLOT_LDA_WEIGHT["D" if allowed == F_.DIGITS else "H"]
        row = (1 - alpha) * self._raw[r] + alpha * self._lda[r]
        return {ch: float(row[self._pos[ch]]) for ch in allowed if ch in self._pos}

    def best(self, i: int, j: int, slot: str) -> tuple[str, float, float]:
        """(character, similarity, margin over the runner-up) for the slot's allowed set."""
        key = (i, j, slot)
        if key not in self._cls:
            sc = self.scores(i, j, F_.allowed_for_slot(slot))
            if slot == "D" and self.digit_w:
                # Plate digits share one width, except the narrow 1: a sliver read as a 6 is a
                # frame bar or a bolt, not a digit.
                w = self.box(i, j)[2]
                short = max(0.0, 0.75 - w / self.digit_w)
                sc = {c: v - (0.0 if c == "1" else 2.0 * short) for c, v in sc.items()}
            ranked = sorted(sc.items(), key=lambda kv: kv[1], reverse=True)
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            self._cls[key] = (ranked[0][0], ranked[0][1], ranked[0][1] - second)
        return self._cls[key]

    def box(self, i: int, j: int) -> tuple[int, int, int, int]:
        """Bounding box of groups ``i..j``."""
        gs = self.row.groups[i:j]
        x0, x1 = gs[0].x, max(g.x2 for g in gs)
        y0, y1 = min(g.y for g in gs), max(g.y2 for g in gs)
        return (x0, y0, x1 - x0, y1 - y0)


def _skip_cost(g: Group, band_h: int, outer: bool) -> float:
    """Cost of leaving a group unread: cheap for bolts and frame bits at the ends."""
    tall = g.h >= 0.75 * band_h
    if outer:
        return 0.1 if tall else 0.02
    return 0.6 if tall else 0.15


def typical_digit_width(row: Row) -> float | None:
    """Median width of the row's full-height, digit-wide groups (``None`` when too few)."""
    bh = row.band_height
    wide = 1.4 if row.upper else 1.1
    ws = [g.w for g in row.groups if g.h >= 0.8 * bh and 0.3 * bh <= g.w <= wide * bh]
    return float(np.median(ws)) if len(ws) >= 3 else None


def digit_pitch(row: Row) -> float | None:
    """Typical centre-to-centre distance of neighbouring digits (plate digits are monospaced).

    The median over neighbouring full-height groups closer than a glyph height; ``None`` when
    too few pairs exist to say.
    """
    bh = row.band_height
    wide = 1.4 if row.upper else 1.1
    tall = [g for g in row.groups if g.h >= 0.8 * bh and g.w <= wide * bh]
    d = [b.x + b.w / 2 - a.x - a.w / 2 for a, b in zip(tall, tall[1:])]
    d = [v for v in d if 0.3 * bh <= v <= (1.4 if row.upper else 1.0) * bh]
    return float(np.median(d)) if len(d) >= 2 else None


def decode(row: Row, bank: GlyphBank, slots: str, scorer: _SpanScorer | None = None) -> Reading | None:
    """The best assignment of ``row``'s groups to ``slots`` (``None`` when none fits).

    Besides template similarity, a digit pays for a height unlike the band's and, next to
    another digit, for a centre distance unlike the row's digit pitch: a bolt or a frame bar
    can look like a ``1`` but rarely sits one pitch from the next digit.
    """
    groups = row.groups
    n, m = len(groups), len(slots)
    if n < m:
        return None
    scorer = scorer or _SpanScorer(row, bank)
    band_h = row.band_height
    pitch = digit_pitch(row)
    neg = -1e9
    dp = np.full((m + 1, n + 1), neg)
    last_cx = np.zeros((m + 1, n + 1))
    back: dict[tuple[int, int], tuple[int, int, str]] = {}
    dp[0][0] = 0.0
    for k in range(m + 1):
        for i in range(n + 1):
            cur = dp[k][i]
            if cur <= neg / 2:
                continue
            if i < n:  # skip group i
                val = cur - _skip_cost(groups[i], band_h, outer=(k == 0 or k == m))
                if val > dp[k][i + 1]:
                    dp[k][i + 1] = val
                    last_cx[k][i + 1] = last_cx[k][i]
                    back[(k, i + 1)] = (k, i, "skip")
            if k == m:
                continue
            slot = slots[k]
            for span in _SPANS[slot]:
                j = i + span
                if j > n or not scorer.has(i, j) or not scorer.geometry_ok(i, j, slot):
                    continue
                _, sim, _ = scorer.best(i, j, slot)
                x, y, w, h = scorer.box(i, j)
                cx = x + w / 2
                val = cur + sim - _BASELINE
                if slot == "D":
                    local_h = row.height_at(cx)
                    val -= 0.08 * (span - 1)
                    val -= 1.5 * max(0.0, abs(h - local_h) / local_h - 0.12)
                    if pitch and k > 0 and slots[k - 1] == "D":
                        val -= 1.5 * max(0.0, abs((cx - last_cx[k][i]) / pitch - 1.0) - 0.2)
                if val > dp[k + 1][j]:
                    dp[k + 1][j] = val
                    last_cx[k + 1][j] = cx
                    back[(k + 1, j)] = (k, i, "take")
    if dp[m][n] <= neg / 2:
        return None
    # Walk back to recover the spans.
    spans: list[tuple[int, int, str]] = []
    k, i = m, n
    while (k, i) != (0, 0):
        pk, pi, what = back[(k, i)]
        if what == "take":
            spans.append((pi, i, slots[pk]))
        k, i = pk, pi
    spans.reverse()
    chars = [scorer.best(a, b, s) for a, b, s in spans]
    boxes = [scorer.box(a, b) for a, b, _ in spans]
    reading = Reading("".join(c[0] for c in chars), None, chars, boxes, float(dp[m][n]))
    reading.ink = row.mask([g for a, b, _ in spans for g in groups[a:b]])
    if "R" in slots:
        _snap_region(reading, spans, scorer)
    return reading


def _snap_region(reading: Reading, spans: list[tuple[int, int, str]], scorer: _SpanScorer) -> None:
    """Replace the two region syllables by the legal region with the best joint similarity."""
    (a0, b0, _), (a1, b1, _) = spans[0], spans[1]
    s0 = scorer.scores(a0, b0, F_.REGION_SYLLABLES)
    s1 = scorer.scores(a1, b1, F_.REGION_SYLLABLES)
    best = max(F_.REGIONS, key=lambda r: s0.get(r[0], 0.0) + s1.get(r[1], 0.0))
    old = reading.chars
    reading.chars = [(best[0], s0.get(best[0], 0.0), 0.0), (best[1], s1.get(best[1], 0.0), 0.0)] + old[2:]
    reading.score += sum(c[1] for c in reading.chars[:2]) - sum(c[1] for c in old[:2])
    reading.text = "".join(c[0] for c in reading.chars)


def read_rows(rows: list[Row], bank: GlyphBank) -> Reading | None:
    """The best reading of a plate's rows over every layout the plate formats allow."""
    if not rows:
        return None
    best: Reading | None = None
    main = rows[0]
    main_scorer = _SpanScorer(main, bank)
    for slots, fmt in ONE_ROW_LAYOUTS:
        r = decode(main, bank, slots, main_scorer)
        if r is not None:
            r.fmt = fmt
            r.score -= FORMAT_PRIOR[fmt]
            best = _better(best, r)
    if len(rows) > 1 and _stacked(rows[1], main):
        lower = decode(main, bank, LOWER_LAYOUT, main_scorer)
        if lower is not None:
            upper_scorer = _SpanScorer(rows[1], bank)
            for slots, fmt in UPPER_LAYOUTS:
                upper = decode(rows[1], bank, slots, upper_scorer)
                if upper is None:
                    continue
                r = Reading(upper.text + lower.text, fmt, upper.chars + lower.chars,
                            upper.boxes + lower.boxes,
                            upper.score + lower.score - FORMAT_PRIOR[fmt] - TWO_ROW_PRIOR,
                            _stack_ink(upper.ink, lower.ink), rows=2)
                best = _better(best, r)
    if best is not None and not F_.is_valid_plate(best.text):
        best.fmt = None
    return best


def _stacked(upper: Row, lower: Row) -> bool:
    """Whether ``upper`` sits on ``lower`` like the rows of a two-row plate.

    The upper row is shorter (about half the height), lies within the lower row's width and
    is centred over it; a bumper edge or grille above a one-row plate rarely is all three.
    """
    ux0, ux1 = upper.groups[0].x, upper.groups[-1].x2
    lx0, lx1 = lower.groups[0].x, lower.groups[-1].x2
    ratio = upper.band_height / max(1.0, lower.band_height)
    slack = 0.1 * (lx1 - lx0)
    centred = abs((ux0 + ux1) / 2 - (lx0 + lx1) / 2) <= 0.2 * (lx1 - lx0)
    return 0.3 <= ratio <= 0.8 and ux0 >= lx0 - slack and ux1 <= lx1 + slack and centred


def _better(a: Reading | None, b: Reading) -> Reading:
    return b if a is None or b.score > a.score else a


def _stack_ink(top: np.ndarray | None, bottom: np.ndarray | None) -> np.ndarray | None:
    if top is None or bottom is None:
        return top if bottom is None else bottom
    w = max(top.shape[1], bottom.shape[1])
    pad = lambda a: np.pad(a, ((0, 0), (0, w - a.shape[1])))  # noqa: E731
    return np.vstack([pad(top), np.zeros((4, w), np.uint8), pad(bottom)])


#: Readings within this score of the best binarisation's vote on each character.
VOTE_WINDOW = 0.6


def read_crop(gray: np.ndarray, bank: GlyphBank) -> Reading | None:
    """Read a plate crop (grayscale, plate roughly filling it): the voted best reading.

    The crop is brought to the working height and deskewed, then read once per binarisation
    (:func:`sparkfolio.plates.segment.binarizations`). Binarisations fail differently (a
    shadow, a glyph touching the frame), so the readings of the best format that score close to
    the best one vote per character, weighted by similarity and margin.
    """
    from sparkfolio.plates import segment

    g = segment.to_plate_height(gray)
    scale = g.shape[0] / max(1, gray.shape[0])
    angle = segment.crop_skew(g)
    if abs(angle) > 0.5:
        g = segment.rotate(g, angle)
    else:
        angle = 0.0
    readings = []
    for polarity, _, mask in segment.binarizations(g):
        r = read_rows(segment.find_rows(mask, polarity), bank)
        if r is not None:
            readings.append(r)
    if not readings:
        return None
    best = max(readings, key=lambda r: r.score)
    peers = [r for r in readings if r.fmt == best.fmt and r.rows == best.rows
             and len(r.chars) == len(best.chars) and r.score >= best.score - VOTE_WINDOW]
    if len(peers) > 1:
        chars = []
        for k in range(len(best.chars)):
            votes: dict[str, list[tuple[float, float]]] = {}
            for r in peers:
                ch, sim, margin = r.chars[k]
                votes.setdefault(ch, []).append((sim, margin))
            ch, ev = max(votes.items(), key=lambda kv: sum(s + 0.3 * m for s, m in kv[1]))
            chars.append((ch, max(s for s, _ in ev), max(m for _, m in ev)))
        best = Reading("".join(c[0] for c in chars), best.fmt, chars, best.boxes, best.score, best.ink, best.rows)
        if best.fmt is not None and not F_.is_valid_plate(best.text):
            best.fmt = None
    best.quad = _extent_in_input(best.boxes, g.shape, angle, scale)
    return best


def _extent_in_input(boxes: list[tuple[int, int, int, int]], shape: tuple[int, ...], angle: float,
                     scale: float) -> list[tuple[float, float]] | None:
    """The glyph boxes' joint extent, widened to about the plate, in the input crop's pixels.

    Undoes the deskew rotation and the resize of :func:`read_crop`.
    """
    import cv2

    if not boxes:
        return None
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    # A plate's border lies about a third of a glyph height around its lettering.
    pad = 0.35 * float(np.median([b[3] for b in boxes]))
    pts = np.array([[x0 - pad, y0 - pad], [x1 + pad, y0 - pad], [x1 + pad, y1 + pad], [x0 - pad, y1 + pad]])
    if angle:
        h, w = shape[:2]
        inv = cv2.invertAffineTransform(cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0))
        pts = pts @ inv[:, :2].T + inv[:, 2]
    return [(float(x / scale), float(y / scale)) for x, y in pts]
