"""Korean licence-plate formats: the legal characters, validation, labels and text metrics.

Plates read ``12가3456`` (2006-2019), ``123가4567`` (2019 on) or, on the older regional plates,
``서울12가3456``. The Hangul syllable is drawn from a small legal set (private, commercial, rental
and delivery vehicles), which is what makes format-guided correction possible: a glyph in the
Hangul slot can only be one of ~40 syllables, a glyph in a digit slot only one of ten digits.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

DIGITS = "0123456789"
#: Private cars (the bulk of traffic).
PRIVATE_HANGUL = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주"
#: Commercial (taxis, buses, trucks), rental cars and delivery vehicles.
COMMERCIAL_HANGUL = "바사아자"
RENTAL_HANGUL = "하허호"
DELIVERY_HANGUL = "배"
PLATE_HANGUL = PRIVATE_HANGUL + COMMERCIAL_HANGUL + RENTAL_HANGUL + DELIVERY_HANGUL

#: Region prefixes of the pre-2006 plates (still on the road).
REGIONS: tuple[str, ...] = (
    "서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기",
    "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주",
)
REGION_SYLLABLES = "".join(sorted({s for r in REGIONS for s in r}))

#: The format names used in outputs and configs.
FORMATS = ("2-digit", "3-digit", "regional")

_H = f"[{PLATE_HANGUL}]"
_PATTERNS = {
    "2-digit": re.compile(rf"^\d{{2}}{_H}\d{{4}}$"),
    "3-digit": re.compile(rf"^\d{{3}}{_H}\d{{4}}$"),
    "regional": re.compile(rf"^(?:{'|'.join(REGIONS)})\d{{1,2}}{_H}\d{{4}}$"),
}
_KEEP = re.compile(r"[0-9\uac00-\ud7a3]")


def plate_format(text: str | None) -> str | None:
    """The format name (``2-digit``, ``3-digit``, ``regional``) ``text`` matches, else ``None``."""
    if not text:
        return None
    for name, pattern in _PATTERNS.items():
        if pattern.match(text):
            return name
    return None


def is_valid_plate(text: str | None) -> bool:
    """Whether ``text`` is a well-formed Korean plate number."""
    return plate_format(text) is not None


def slots_of(fmt: str, class_digits: int = 2) -> str:
    """The slot string of a format: ``D`` digit, ``H`` plate Hangul, ``R`` region syllable.

    ``class_digits`` only matters for ``regional`` plates, whose class number has 1 or 2 digits.
    """
    if fmt == "2-digit":
        return "DDHDDDD"
    if fmt == "3-digit":
        return "DDDHDDDD"
    if fmt == "regional":
        return "RR" + "D" * class_digits + "HDDDD"
    raise ValueError(f"unknown plate format {fmt!r}")


def clean_text(raw: str | None) -> str:
    """NFC-normalise and keep only digits and Hangul syllables (what a plate can hold).

    File names on macOS arrive decomposed (NFD); without NFC, ``오`` would be two code points
    and never equal the label.
    """
    if not raw:
        return ""
    return "".join(_KEEP.findall(unicodedata.normalize("NFC", raw)))


def label_from_name(name: str) -> str | None:
    """The plate text encoded in a file name such as ``19오7777.jpg``, or ``None``.

    Only a stem that is exactly a valid plate counts, so ``IMG_1234.jpg`` carries no label.
    """
    stem = name.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = unicodedata.normalize("NFC", stem).strip()
    return stem if is_valid_plate(stem) else None


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between two strings."""
    if a == b:
        return 0
    if not a:
        return len(b)
    if not b:
        return len(a)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(pred: str | None, truth: str) -> float:
    """``1 - edit distance / len(truth)``, floored at 0: the share of the label read right."""
    if not truth:
        raise ValueError("char_accuracy needs a non-empty label")
    return max(0.0, 1.0 - levenshtein(pred or "", truth) / len(truth))


def allowed_for_slot(slot: str) -> str:
    """The characters a slot (``D``, ``H``, ``R``) may hold."""
    return {"D": DIGITS, "H": PLATE_HANGUL, "R": REGION_SYLLABLES}[slot]


def nearest_region(pair: str, candidates: Iterable[str] = REGIONS) -> str | None:
    """The region whose two syllables differ least from ``pair`` (ties: first in the list)."""
    best, best_d = None, 3
    for region in candidates:
        d = sum(x != y for x, y in zip(region, pair)) + abs(len(region) - len(pair))
        if d < best_d:
            best, best_d = region, d
    return best if best_d <= 1 else None
