#!/usr/bin/env bash
# Build what spark-submit needs to run sparkfolio jobs on a cluster, into dist/:
#   dist/sparkfolio.zip          the library, for --py-files (importable as `sparkfolio`)
#   dist/sparkfolio-conf.tar.gz  conf/ (job YAML + Spark profiles), for --archives ...#conf
#   dist/sparkfolio-env.tar.gz   a venv-pack archive of the third-party runtime dependencies
#                                (pandas, pyarrow, OpenCV, librosa...), for --archives ...#environment;
#                                skipped with --no-env
# and print the spark-submit command lines for YARN, Kubernetes and standalone.
#
# usage: scripts/package.sh [--no-env] [--dist DIR] [--python-prefix PREFIX]
#   --no-env                skip the (large, slow) environment archive: zip and conf only
#   --dist DIR              where to write the artefacts (default dist)
#   --python-prefix PREFIX  where Python 3.11 lives on the cluster nodes, if not where it lives
#                           here (venv-pack links the environment's python to that interpreter)
#
# The environment archive is packed from a throwaway venv (build/pack-env), never from .venv:
# venv-pack refuses editable installs, and .venv also holds the test and notebook tools that a
# cluster does not need. It gets the runtime requirements at the exact versions of .venv (pip
# freeze as constraints) minus pyspark, which every cluster node already has in the version of
# its Spark. sparkfolio itself is deliberately NOT in it: the library travels only as
# sparkfolio.zip (--py-files), built from the same checkout as the jobs/*.py being submitted, so
# an environment archive built last week can never run last week's code (a forgotten --py-files
# fails with "No module named 'sparkfolio'" instead).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DIST=dist
WITH_ENV=1
PYTHON_PREFIX=
while (($#)); do
  case $1 in
    --no-env) WITH_ENV=0 ;;
    --dist) DIST=${2:?--dist needs a folder}; shift ;;
    --python-prefix) PYTHON_PREFIX=${2:?--python-prefix needs a folder}; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

VENV=${VENV:-.venv}
PY=$VENV/bin/python
if [[ ! -x $PY ]]; then
  echo "package.sh: error: $PY not found; run 'make setup' first" >&2
  exit 2
fi
mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)

# --- 1. The library as a zip for --py-files ------------------------------------------------
# Deterministic (sorted entries, fixed timestamps and modes): the same source gives the same
# bytes, so a re-run does not invalidate caches on the cluster side. Only the package itself:
# no __pycache__, no egg-info.
"$PY" - "$ROOT/lib" "$DIST/sparkfolio.zip" <<'EOF'
import os, sys, zipfile
lib, target = sys.argv[1], sys.argv[2]
tmp = target + ".tmp"
names = []
for folder, dirs, files in os.walk(os.path.join(lib, "sparkfolio")):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
    for f in files:
        if f.endswith((".pyc", ".pyo")) or f.startswith("."):
            continue
        names.append(os.path.relpath(os.path.join(folder, f), lib))
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(names):
        info = zipfile.ZipInfo(name.replace(os.sep, "/"), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(lib, name), "rb") as fh:
            z.writestr(info, fh.read())
os.replace(tmp, target)
print(f"package: {target} ({len(names)} files, {os.path.getsize(target) / 1024:.0f} KiB)")
EOF

# The zip must be importable on its own: put it first on the path of an isolated interpreter
# and check the CLI and every job module that exists come from it, not from the checkout.
"$PY" -I - "$DIST/sparkfolio.zip" <<'EOF'
import importlib, importlib.util, sys
zip_path = sys.argv[1]
sys.path.insert(0, zip_path)
import sparkfolio, sparkfolio.cli
from sparkfolio.registry import JOBS
assert sparkfolio.__file__.startswith(zip_path), sparkfolio.__file__
missing = []
for job in JOBS:
    module = job.runner.partition(":")[0]
    spec = importlib.util.find_spec(module)
    if spec is None:
        missing.append(f"{job.name} ({module})")
    elif not (spec.origin or "").startswith(zip_path):
        raise SystemExit(f"package.sh: error: {module} resolves to {spec.origin}, not the zip")
if missing:
    print("package: warning: jobs registered without their module yet: " + ", ".join(missing), file=sys.stderr)
print(f"package: {zip_path} imports as sparkfolio ({len(JOBS) - len(missing)}/{len(JOBS)} job modules present)")
EOF

# --- 2. conf/ as an archive, so a driver running on the cluster (YARN/K8s cluster mode) finds
# ./conf/<job>.yaml and ./conf/spark/cluster.yaml as it does in a checkout.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C conf -cf - . | gzip -n -9 > "$DIST/sparkfolio-conf.tar.gz.tmp"
mv "$DIST/sparkfolio-conf.tar.gz.tmp" "$DIST/sparkfolio-conf.tar.gz"
echo "package: $DIST/sparkfolio-conf.tar.gz ($(tar -tzf "$DIST/sparkfolio-conf.tar.gz" | grep -c '\.yaml$') YAML files)"

# --- 3. The environment archive for --archives ...#environment ------------------------------
if ((WITH_ENV)); then
  BASE_PY=$("$PY" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')
  PACK=build/pack-env
  echo "package: building $PACK from $BASE_PY (runtime requirements at the versions of $VENV)"
  mkdir -p build
  "$BASE_PY" -m venv --clear "$PACK"
  "$PY" -m pip freeze --exclude-editable | grep -v -i -E '^(sparkfolio|pyspark|py4j)(==| @)' > build/pack-constraints.txt
  grep -v -i -E '^[[:space:]]*pyspark([<>=!~ ;#]|$)' requirements.txt > build/pack-requirements.txt
  "$PACK/bin/python" -m pip install -q --upgrade pip
  "$PACK/bin/python" -m pip install -q -r build/pack-requirements.txt -c build/pack-constraints.txt
  "$PACK/bin/python" -c 'import pandas, pyarrow, numpy, yaml, cv2, librosa, statsmodels'
  if "$PACK/bin/python" -c 'import sparkfolio' 2>/dev/null; then
    echo "package.sh: error: $PACK must not contain sparkfolio (it ships as sparkfolio.zip)" >&2
    exit 1
  fi
  PACK_ARGS=(-p "$PACK" -o "$DIST/sparkfolio-env.tar.gz" --force --quiet)
  [[ -n $PYTHON_PREFIX ]] && PACK_ARGS+=(--python-prefix "$PYTHON_PREFIX")
  "$VENV/bin/venv-pack" "${PACK_ARGS[@]}"
  chmod 644 "$DIST/sparkfolio-env.tar.gz"  # venv-pack leaves it 0600; the cluster user must read it
  echo "package: $DIST/sparkfolio-env.tar.gz ($(du -h "$DIST/sparkfolio-env.tar.gz" | cut -f1);" \
       "python links to ${PYTHON_PREFIX:-$(dirname "$(dirname "$BASE_PY")")} on every node)"
fi

# --- 4. How to submit ---------------------------------------------------------------------
# Relative to the repository root when dist is inside it (the commands run from there).
case $DIST/ in "$ROOT"/*) REL=$(realpath --relative-to="$ROOT" "$DIST") ;; *) REL=$DIST ;; esac
ENV_ARCHIVE="$REL/sparkfolio-env.tar.gz#environment"
[[ -f $DIST/sparkfolio-env.tar.gz ]] || echo "package: note: no $REL/sparkfolio-env.tar.gz (--no-env); build it without --no-env for the lines below"
cat <<EOF

spark-submit command lines (netflix-ingest as the example; every jobs/<job>.py takes the same flags).
Paths given to --input/--output must be readable by every executor (HDFS, S3, a shared disk).

# YARN, cluster mode (driver in the application master; Spark ships the files to HDFS staging):
spark-submit --master yarn --deploy-mode cluster \\
  --py-files $REL/sparkfolio.zip \\
  --archives $ENV_ARCHIVE,$REL/sparkfolio-conf.tar.gz#conf \\
  --conf spark.pyspark.python=./environment/bin/python \\
  jobs/netflix_ingest.py --input hdfs:///data/netflix/raw --output hdfs:///data/netflix/ingested

# Kubernetes, cluster mode (an image with Spark 4.3 and Python 3.11, see docs/cluster.md):
spark-submit --master k8s://https://K8S_API_SERVER:6443 --deploy-mode cluster \\
  --name sparkfolio-netflix-ingest \\
  --conf spark.kubernetes.container.image=REGISTRY/sparkfolio-spark:4.3.0 \\
  --conf spark.kubernetes.authenticate.driver.serviceAccountName=spark \\
  --conf spark.kubernetes.file.upload.path=s3a://BUCKET/spark-uploads \\
  --py-files $REL/sparkfolio.zip \\
  --archives $ENV_ARCHIVE,$REL/sparkfolio-conf.tar.gz#conf \\
  --conf spark.pyspark.python=./environment/bin/python \\
  jobs/netflix_ingest.py --input s3a://BUCKET/netflix/raw --output s3a://BUCKET/netflix/ingested

# Standalone, client mode (Python apps cannot use cluster mode on standalone; the driver runs here):
spark-submit --master spark://MASTER_HOST:7077 \\
  --py-files $REL/sparkfolio.zip \\
  --archives $ENV_ARCHIVE \\
  --conf spark.pyspark.driver.python=$VENV/bin/python \\
  --conf spark.pyspark.python=./environment/bin/python \\
  jobs/netflix_ingest.py --input /shared/netflix/raw --output /shared/netflix/ingested

See docs/cluster.md for what each piece does and the prerequisites on the nodes.
EOF
