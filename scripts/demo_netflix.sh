#!/usr/bin/env bash
# The Netflix pipeline end to end on a generated default dataset (what `make demo` runs):
# generate data in the Kaggle layout, ingest it, train baselines and ALS, show what was found.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
OUT=${DEMO_OUT:-output/demo}
RATINGS=${DEMO_RATINGS:-2000000}

echo "== 1/3 generating ${RATINGS} synthetic ratings in the Kaggle layout -> $OUT/raw"
"$BIN/sparkfolio" netflix-generate --output "$OUT/raw" --set ratings="$RATINGS" --log-level WARNING
echo "== 2/3 ingesting -> $OUT/ingest"
"$BIN/sparkfolio" netflix-ingest --input "$OUT/raw" --output "$OUT/ingest" --log-level WARNING
"$BIN/python" - "$OUT/ingest/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
keys = ("lines", "ratings", "rejects", "movies", "customers")
print("   ingest:", ", ".join(f"{k} {m[k]:,}" if isinstance(m.get(k), int) else f"{k} {m.get(k)}" for k in keys if k in m))
PY
# A customer and a title that exist in the generated data: the first rated movie and its first rater.
read -r CUSTOMER TITLE < <("$BIN/python" - "$OUT/ingest" <<'PY'
import sys
import pyarrow.dataset as ds
ratings = ds.dataset(sys.argv[1] + "/ratings", format="parquet").head(1, columns=["movie_id", "customer_id"]).to_pylist()[0]
movies = ds.dataset(sys.argv[1] + "/movies", format="parquet").to_table(columns=["movie_id", "title"]).to_pylist()
title = next(m["title"] for m in movies if m["movie_id"] == ratings["movie_id"])
print(ratings["customer_id"], title)
PY
)
echo "== 3/3 baselines and ALS -> $OUT/als (customer $CUSTOMER, similar to \"$TITLE\")"
"$BIN/sparkfolio" netflix-als --input "$OUT/ingest" --output "$OUT/als" \
  --set customer_id="$CUSTOMER" --set similar_to="$TITLE" --log-level WARNING
echo
echo "outputs: $OUT/raw (generated files), $OUT/ingest (ratings, movies, rejects, probe, qualifying),"
echo "         $OUT/als (model, recommendations, similar movies, metrics.json, plots)"
