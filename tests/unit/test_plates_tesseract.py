"""The Tesseract command-line wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from sparkfolio.plates import tesseract as T
from sparkfolio.runtime.errors import DependencyError

TSV = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
    "1\t1\t0\t0\t0\t0\t0\t0\t300\t80\t-1\t\n"
    "4\t1\t1\t1\t1\t0\t10\t10\t280\t60\t-1\t\n"
    "5\t1\t1\t1\t1\t1\t10\t10\t120\t60\t91.5\t12가\n"
    "5\t1\t1\t1\t1\t2\t140\t10\t150\t60\t88.5\t3456\n"
    "5\t1\t1\t1\t1\t3\t295\t10\t5\t60\t10.0\t \n"
)


def test_parse_tsv_joins_words_and_averages_confidence():
    r = T.parse_tsv(TSV)
    assert r == T.TesseractResult("12가3456", 90.0)
    assert T.parse_tsv("level\tpage_num\n") == T.TesseractResult("", -1.0)


def test_missing_binary_names_the_packages():
    with pytest.raises(DependencyError, match="install tesseract-ocr tesseract-ocr-kor"):
        T.check_tesseract("/nonexistent/tesseract", "kor", "cli")


@pytest.mark.parametrize("api", ["cli", "library"])
def test_missing_language_names_the_packages(api):
    T.check_tesseract.cache_clear()
    with pytest.raises(DependencyError, match="no 'xyz' language data.*tesseract-ocr-kor"):
        T.check_tesseract("tesseract", "xyz", api)


def test_reads_a_clean_korean_line():
    assert T.check_tesseract("tesseract", "kor", "cli").startswith("tesseract 5.")
    r = T.ocr_line(_clean_line(), psm=7, whitelist="0123456789가", api="cli")
    assert r.text == "12가3456"
    assert 50 < r.confidence <= 100


def _clean_line() -> np.ndarray:
    img = Image.new("L", (420, 90), 255)
    font = ImageFont.truetype("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf", 52)
    ImageDraw.Draw(img).text((20, 12), "12가 3456", fill=0, font=font)
    return np.asarray(img)


def test_library_and_command_line_read_alike():
    """The in-process engine gives exactly what the command line gives (text and confidence)."""
    line = _clean_line()
    assert T.check_tesseract(api="library").startswith("libtesseract 5.")
    for kwargs in ({"psm": 7, "whitelist": "0123456789가"}, {"psm": 7}, {"psm": 6, "whitelist": "0123456789"}):
        cli = T.ocr_line(line, api="cli", **kwargs)
        assert T.ocr_line(line, api="library", **kwargs) == cli
        assert T.ocr_line(line, api="auto", **kwargs) == cli
    assert T.ocr_line(line, psm=7, whitelist="0123456789가", api="library").text == "12가3456"


def test_library_forgets_the_previous_whitelist():
    line = _clean_line()
    digits = T.ocr_line(line, psm=7, whitelist="0123456789", api="library")
    assert "가" not in digits.text
    assert T.ocr_line(line, psm=7, api="library").text == "12가3456"


def test_library_timeout_reads_nothing():
    """A recognition past its deadline is cancelled and reads as nothing, like a killed process."""
    page = np.tile(_clean_line(), (20, 4))  # 80 lines: about a second of recognition
    assert T.ocr_line(page, psm=6, timeout_s=0.05, api="library") == T.TesseractResult("", -1.0)
    assert T.ocr_line(_clean_line(), psm=7, api="library").text == "12가3456"  # the engine still works


def test_engine_is_loaded_once_per_process():
    from sparkfolio.plates.libtesseract import engine

    assert engine("kor") is engine("kor")
    with pytest.raises(ValueError, match="2-D uint8"):
        engine("kor").read_line(np.zeros((4, 4, 3), np.uint8))


def test_unknown_api_is_refused():
    with pytest.raises(ValueError, match="auto, library, cli"):
        T.ocr_line(_clean_line(), api="grpc")


def test_library_refused_when_openmp_already_loaded_and_auto_falls_back():
    """With the system's libgomp loaded first (no thread limit), in-process Tesseract would run
    many threads per task; `library` refuses with a clear error and `auto` uses the command line."""
    import os
    import subprocess
    import sys

    gomp = "/lib/x86_64-linux-gnu/libgomp.so.1"
    if not os.path.exists(gomp):
        pytest.skip(f"{gomp} is not installed")
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    env["LD_PRELOAD"] = gomp
    code = (
        "from sparkfolio.plates import tesseract as T\n"
        "print(T.check_tesseract(api='auto'))\n"
        "try:\n    T.check_tesseract(api='library')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
        "import numpy as np\n"
        "page = np.full((40, 120), 255, np.uint8)\n"
        "for _ in range(3):\n    T.ocr_line(page, api='auto')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("tesseract 5.")  # the command line, not "libtesseract"
    assert lines[1].startswith("DependencyError libtesseract cannot be used: libgomp is already loaded")
    # Decided once: the three images after the check neither retry the library nor warn again.
    assert out.stderr.count("running the tesseract command per image") == 1


def test_loading_the_library_leaves_the_environment_alone():
    """OMP_THREAD_LIMIT is set only while libgomp loads: torch or a child process started later
    in the same process must not inherit a one-thread limit."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    code = ("import os\nfrom sparkfolio.plates.libtesseract import engine\nengine('kor')\n"
            "print(os.environ.get('OMP_THREAD_LIMIT'), os.getenv('OMP_THREAD_LIMIT'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["None", "None"]
