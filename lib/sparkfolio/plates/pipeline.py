"""Reading one image end to end: decode, find plate candidates, read each, keep the best.

Everything here is plain Python on numpy arrays, used the same way by the Spark UDF
(:mod:`sparkfolio.plates.udf`), the single-process loop (:mod:`sparkfolio.plates.serial`) and the
tests. Settings are a small frozen dataclass of plain values; the UDF closure carries them as a dict.

Why Tesseract is a second opinion and not a competing candidate: the template decoder reads
every candidate region and the best-ranked valid reading wins; Tesseract (``kor``, psm 7, or 6
for two-row plates, plate characters whitelisted) then reads the glyphs the decoder kept, and its text replaces the
decoder's only when the decoder found no valid plate. Letting a valid Tesseract reading win
instead was measured on the outputs of `plates-ocr` (docs/bench/udfs.md, "Plate OCR accuracy"):
Tesseract read 29 of the 128 real crops and 43 of 100 generated scenes exactly, against 100
and 98 for the decoder, and was right where the decoder was wrong once (one crop). Its
confidence does not single out that case: a valid Tesseract reading winning at confidence >= 50
gives 91 of 128 crops, >= 60 96, >= 70 100 (no change); on the scenes >= 80 gives 91 and >= 90
97 of 100. So the decoder decides, and Tesseract's text is kept in ``tesseract_text``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sparkfolio.plates import formats as F_
from sparkfolio.plates.detect import Candidate, bounding_box, find_candidates, whole_image
from sparkfolio.plates.glyphs import FONT_DIR, GlyphBank, cached_bank
from sparkfolio.plates.recognize import Reading, read_crop
from sparkfolio.plates.tesseract import check_tesseract, ocr_line

log = logging.getLogger(__name__)

#: Every character a plate can hold: what the glyph bank knows and Tesseract may answer.
PLATE_CHARSET = F_.DIGITS + F_.PLATE_HANGUL + "".join(c for c in F_.REGION_SYLLABLES if c not in F_.PLATE_HANGUL)

#: Columns of the per-image result, in order (the Spark schema is built from this).
RESULT_FIELDS: tuple[tuple[str, str], ...] = (
    ("path", "string"),
    ("text", "string"),
    ("valid", "boolean"),
    ("format", "string"),
    ("confidence", "double"),
    ("box_x", "int"),
    ("box_y", "int"),
    ("box_w", "int"),
    ("box_h", "int"),
    ("angle", "double"),
    ("source", "string"),
    ("engine", "string"),
    ("tesseract_text", "string"),
    ("tesseract_conf", "double"),
    ("width", "int"),
    ("height", "int"),
    ("seconds", "double"),
    ("error", "string"),
)


#: The error of an empty image file (from the UDF, or for zero-byte files Spark's scan skips).
EMPTY_FILE = "empty file"

#: Weight of a candidate's chain score (plate-likeness of its glyph row) in the final choice.
CHAIN_WEIGHT = 0.15


@dataclass(frozen=True)
class OcrSettings:
    """How images are read; plain values only, so UDF closures stay small and picklable."""

    tesseract_cmd: str = "tesseract"
    tesseract_lang: str = "kor"
    use_tesseract: bool = True
    tesseract_timeout_s: float = 30.0
    tesseract_api: str = "auto"
    max_candidates: int = 3
    font_dir: str = FONT_DIR
    bank_variants: int = 24
    bank_seed: int = 7


@dataclass
class PlateResult:
    """What was read from one image (one output row)."""

    path: str
    text: str | None = None
    valid: bool = False
    format: str | None = None
    confidence: float | None = None
    box_x: int | None = None
    box_y: int | None = None
    box_w: int | None = None
    box_h: int | None = None
    angle: float | None = None
    source: str | None = None
    engine: str | None = None
    tesseract_text: str | None = None
    tesseract_conf: float | None = None
    width: int | None = None
    height: int | None = None
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The result as a plain dict in :data:`RESULT_FIELDS` order."""
        d = asdict(self)
        return {name: d[name] for name, _ in RESULT_FIELDS}


def prepare(settings: OcrSettings) -> GlyphBank:
    """Check (and load, in-process) Tesseract when used, and load the glyph bank: the once-per-process set-up.

    Raises
    ------
    DependencyError
        Tesseract or its Korean data, or the Nanum fonts, are missing.
    """
    if settings.use_tesseract:
        check_tesseract(settings.tesseract_cmd, settings.tesseract_lang, settings.tesseract_api)
    return cached_bank(PLATE_CHARSET, settings.font_dir, settings.bank_variants, settings.bank_seed)


def decode_image(data: bytes | None) -> np.ndarray:
    """Decode image bytes (JPEG, PNG...) to grayscale.

    Raises
    ------
    ValueError
        The bytes are empty or not a decodable image.
    """
    import cv2

    if not data:
        raise ValueError(EMPTY_FILE)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None or img.size == 0:
        raise ValueError("cannot decode image (corrupt or not an image)")
    return img


def read_image(path: str, data: bytes | None, settings: OcrSettings, bank: GlyphBank) -> PlateResult:
    """Find and read the plate in one image; an undecodable image gives a row with ``error``.

    Every candidate region (the whole image, which may already be a plate crop, and the best
    chains of glyph-like contours) is read by the template decoder, and Tesseract reads the
    glyphs the decoder kept. The reading that forms a valid plate with the highest score wins.
    """
    started = time.perf_counter()
    result = PlateResult(path=path)
    try:
        gray = decode_image(data)
    except ValueError as exc:
        result.error = str(exc)
        result.seconds = time.perf_counter() - started
        return result
    result.height, result.width = int(gray.shape[0]), int(gray.shape[1])
    found = find_candidates(gray, max_candidates=settings.max_candidates)
    # The whole image contains every chain found in it, so it shares the best chain's score.
    candidates = [whole_image(gray, max((c.score for c in found), default=0.0))]
    for cand in found:
        x, y, w, h = cand.box
        # A chain covering most of the image is the whole-image candidate again.
        if w * h < 0.6 * gray.shape[0] * gray.shape[1]:
            candidates.append(cand)
    best: tuple[float, Candidate, Reading] | None = None
    for cand in candidates:
        reading = read_crop(cand.crop, bank)
        if reading is None:
            continue
        # A valid plate beats any invalid text; among readings, glyphs that match their
        # templates better and a more plate-like chain (even heights, regular spacing) win:
        # watermark text and grille bars match poorly and make poor chains. (The decoder's
        # own score is not comparable across crops: it depends on how much clutter it skipped.)
        rank = (2.0 if reading.fmt else 0.0) + 5.0 * reading.confidence + CHAIN_WEIGHT * min(cand.score, 10.0)
        if best is None or rank > best[0]:
            best = (rank, cand, reading)
    if best is not None:
        _, cand, reading = best
        _fill(result, cand, reading, settings)
    result.seconds = time.perf_counter() - started
    return result


def _fill(result: PlateResult, cand: Candidate, reading: Reading, settings: OcrSettings) -> None:
    """Copy the winning reading into the result, with Tesseract's opinion on the same glyphs."""
    result.text = reading.text
    result.format = reading.fmt
    result.valid = reading.fmt is not None
    result.confidence = round(reading.confidence, 4)
    result.engine = "templates"
    # The plate box: the glyphs' extent (widened to the plate border), clipped to the image.
    x, y, w, h = bounding_box(cand.map_to_image(reading.quad)) if reading.quad else cand.box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(result.width or x + w, x + w), min(result.height or y + h, y + h)
    result.box_x, result.box_y, result.box_w, result.box_h = x0, y0, max(0, x1 - x0), max(0, y1 - y0)
    result.angle = round(cand.angle, 2)
    result.source = cand.source
    if settings.use_tesseract and reading.ink is not None:
        import cv2

        # Black glyphs on white with a margin, about 40 px tall: what Tesseract reads best.
        ink = reading.ink
        scale = 40.0 * reading.rows / max(1, ink.shape[0])
        ink = cv2.resize(ink, (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
        page = 255 - cv2.copyMakeBorder(ink, 16, 16, 16, 16, cv2.BORDER_CONSTANT, value=0)
        tess = ocr_line(page, settings.tesseract_cmd, settings.tesseract_lang, psm=7 if reading.rows == 1 else 6,
                        whitelist=PLATE_CHARSET, timeout_s=settings.tesseract_timeout_s,
                        api=settings.tesseract_api)
        text = F_.clean_text(tess.text)
        result.tesseract_text = text
        result.tesseract_conf = round(tess.confidence, 1)
        if text == reading.text:
            result.engine = "both"
        elif not result.valid and F_.is_valid_plate(text):
            # The decoder found no valid plate but Tesseract did: take Tesseract's reading.
            result.text = text
            result.format = F_.plate_format(text)
            result.valid = True
            result.confidence = round(max(0.0, tess.confidence) / 100.0, 4)
            result.engine = "tesseract"
