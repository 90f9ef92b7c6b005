"""Annotated images: the plate box and the text read drawn on the photo.

Korean text is drawn with a Nanum font through Pillow when one is installed; otherwise OpenCV's
built-in fonts draw a romanised version (they have no Hangul glyphs).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: Revised Romanisation of initial consonants, vowels and final consonants (fallback only).
_INITIALS = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_VOWELS = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
           "yu", "eu", "ui", "i"]
_FINALS = ["", "k", "k", "ks", "n", "nj", "nh", "t", "l", "lk", "lm", "lb", "ls", "lt", "lp", "lh", "m", "p", "ps",
           "t", "t", "ng", "t", "t", "k", "t", "p", "h"]


def romanize(text: str) -> str:
    """Digits unchanged, each Hangul syllable in Revised Romanisation (``서울12가3456`` -> ``seoul12ga3456``)."""
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(_INITIALS[code // 588] + _VOWELS[(code % 588) // 28] + _FINALS[code % 28])
        else:
            out.append(ch)
    return "".join(out)


def _korean_font(font_dir: str) -> str | None:
    for name in ("NanumGothicBold.ttf", "NanumGothic.ttf", "NanumBarunGothicBold.ttf"):
        path = os.path.join(font_dir, name)
        if os.path.exists(path):
            return path
    return None


def annotate(content: bytes, rec: dict[str, Any], font_dir: str) -> bytes | None:
    """PNG bytes of the image with the plate box and the reading drawn on it.

    ``rec`` holds a result row (``text``, ``valid``, ``box_*``, ``error``). Returns ``None`` for
    an image that cannot be decoded.
    """
    import cv2

    img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR) if content else None
    if img is None:
        return None
    # Keep annotated copies small: they are for people to look at, not for measuring.
    scale = min(1.0, 1000 / max(img.shape[:2]))
    if scale < 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    colour = (0, 200, 0) if rec.get("valid") else (0, 0, 255)
    label = rec.get("text") or ("error: " + str(rec.get("error")) if rec.get("error") else "no plate")
    x = y = None
    if rec.get("box_x") is not None and not _isnan(rec.get("box_x")):
        x, y = int(rec["box_x"] * scale), int(rec["box_y"] * scale)
        w, h = int(rec["box_w"] * scale), int(rec["box_h"] * scale)
        cv2.rectangle(img, (x, y), (x + w, y + h), colour, 2)
    tx, ty = (x or 4), max(0, (y or 30) - 30)
    font_path = _korean_font(font_dir)
    if font_path is not None:
        from PIL import Image, ImageDraw, ImageFont

        pil = Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        draw = ImageDraw.Draw(pil)
        font = ImageFont.truetype(font_path, 24)
        left, top, right, bottom = draw.textbbox((tx, ty), label, font=font)
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=(255, 255, 255))
        draw.text((tx, ty), label, font=font, fill=colour[::-1])
        img = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    else:
        text = romanize(label)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.8, 2)
        cv2.rectangle(img, (tx, ty), (tx + tw + 4, ty + th + 8), (255, 255, 255), -1)
        cv2.putText(img, text, (tx + 2, ty + th + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.8, colour, 2)
    ok, png = cv2.imencode(".png", img)
    return png.tobytes() if ok else None


def _isnan(v: Any) -> bool:
    try:
        return bool(np.isnan(v))
    except TypeError:
        return False
