#!/usr/bin/env bash
# bench/kmeans.sh -- k-means benchmark: segment against the psycopg2 +
# scikit-learn round trip and scikit-learn's fit, in the same run on the
# same data (bench/kmeans_bench.py does the work; needs python3-sklearn and
# python3-psycopg2, which scripts/common.sh installs).
#
#   bench/kmeans.sh [customers]     (default 1,000,000; KMEANS_BENCH_N32 rows for d=32)
set -euo pipefail
. "$(dirname "$0")/common.sh"
customers="${1:-1000000}"

bench_setup
log "k-means benchmark, $customers customers"
/usr/bin/python3 "$SEGMENT_ROOT/bench/kmeans_bench.py" "$customers"
