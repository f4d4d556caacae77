#!/usr/bin/env bash
# bench/quality.sh -- segment quality benchmark (issue 4), same run, same data:
#   1. kmeans_sweep for k = 2..10 against one kmeans_fit with k = 10
#      (goal: the sweep takes less than 5x the single fit);
#   2. kmeans_evaluate (sampled silhouette, Davies-Bouldin, Calinski-Harabasz)
#      over all rows (goal: under 2 s).
#
#   bench/quality.sh [rows]        (default 1,000,000 rows x 3 features)
#
# Times are server execution times from EXPLAIN (ANALYZE, TIMING OFF), the
# median of 3 runs each.  Default options (zscore, k-means++, n_init 10).
set -euo pipefail
. "$(dirname "$0")/common.sh"
rows="${1:-1000000}"

bench_setup

q -c "CREATE EXTENSION segment"
log "generating $rows rows x 3 features (6 skewed customer-like groups)"
q -c "SELECT setseed(0.42); CREATE TABLE feats AS
      SELECT i, ARRAY[g * 30 + random() * 40, (g % 3) * 4 + random() * 6, exp(3 + (g % 2) + random())]::float8[] AS f
      FROM (SELECT i, (i % 6) AS g FROM generate_series(1, $rows) i) s; ANALYZE feats"
q -c "CREATE TABLE m10 AS SELECT segment.kmeans_fit(f, 10) AS m FROM feats"

median3() {
    local a=() i
    for i in 1 2 3; do a+=("$(time_ms "$1")"); done
    /usr/bin/python3 -c 'import sys, statistics; print(f"{statistics.median(map(float, sys.argv[1:])):.0f}")' "${a[@]}"
}

log "kmeans_sweep(f, 2, 10) vs kmeans_fit(f, 10)"
fit=$(median3 "SELECT segment.kmeans_fit(f, 10) FROM feats")
sweep=$(median3 "SELECT segment.kmeans_sweep(f, 2, 10) FROM feats")
/usr/bin/python3 -c "import sys; f, s = map(float, sys.argv[1:]); print(f'sweep k=2..10: {s:.0f} ms; single fit k=10: {f:.0f} ms; ratio {s/f:.2f}x (goal < 5x)')" "$fit" "$sweep"

sweep3=$(median3 "SELECT segment.kmeans_sweep(f, 2, 10, '{\"n_init\": 3}') FROM feats")
/usr/bin/python3 -c "import sys; f, s = map(float, sys.argv[1:]); print(f'sweep k=2..10 with n_init 3: {s:.0f} ms; ratio {s/f:.2f}x')" "$fit" "$sweep3"

log "kmeans_evaluate over all rows (sampled silhouette)"
ev=$(median3 "SELECT segment.kmeans_evaluate(f, m) FROM feats, m10")
echo "kmeans_evaluate on $rows rows: $ev ms (goal < 2000 ms)"
q -c "SELECT segment.kmeans_evaluate(f, m) FROM feats, m10"
