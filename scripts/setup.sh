#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian machine: native packages, .venv, the library.
# Idempotent: re-running it only installs what is missing. Called by `make setup` (and demo/test).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# --- Debian packages: Java for Spark, Tesseract + Korean data + fonts for OCR, Graphviz for trees.
APT_PACKAGES=(tesseract-ocr tesseract-ocr-kor fonts-nanum graphviz libsndfile1)
command -v java >/dev/null 2>&1 || APT_PACKAGES+=(openjdk-17-jre-headless)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python environment.
if [[ ! -x $VENV/bin/python ]]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -r requirements.txt -r requirements-dev.txt
"$VENV/bin/python" -m pip install -q --no-deps -e .
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null

java -version 2>&1 | head -1
"$VENV/bin/python" -c "import pyspark, pandas, pyarrow; print('setup: pyspark', pyspark.__version__, 'pandas', pandas.__version__, 'pyarrow', pyarrow.__version__)"
# Compile librosa's JIT kernels into numba's on-disk cache once, in one process, so Spark's
# parallel workers later only read it (concurrent writers can corrupt it: numba/numba#10128).
"$VENV/bin/python" -c "from sparkfolio.gtzan.analysis import worker_setup; worker_setup()"
# Spark's classes, parsed and verified once into a class-data-sharing archive that the driver
# JVMs sparkfolio starts then map (runtime/jvmcds.py): each session starts seconds sooner.
# Only a speed-up, so a failure is reported and the setup goes on.
"$VENV/bin/python" -m sparkfolio.runtime.jvmcds >/dev/null \
  || echo "setup: WARNING: the JVM class archive was not built (see above); Spark sessions start slower" >&2
touch "$VENV/.sparkfolio-setup"
