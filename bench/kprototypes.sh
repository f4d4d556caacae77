#!/usr/bin/env bash
# bench/kprototypes.sh -- k-prototypes benchmark (issue 8), same run, same
# data: kprototypes_fit on 3 numeric + 3 categorical features against
# kmeans_fit on the 3 numeric features alone (goal: at most 3x its time).
#
#   bench/kprototypes.sh [customers]     (default 1,000,000)
#
# Data: six customer-like groups; numeric spend, visits, basket (skewed);
# categories channel (5 levels, tied to the group), region (20 levels,
# loosely tied) and category (50 levels, noise).  k = 6, default options on
# both sides (zscore, k-means++-style init, n_init 10, seed 0).  Times are
# server execution times from EXPLAIN (ANALYZE, TIMING OFF), the median of
# 3 runs each, alternating.  SEGMENT_BENCH_INSTALLED=1 skips the build and
# install (when segment is already installed) and only starts a cluster.
set -euo pipefail
. "$(dirname "$0")/common.sh"
customers="${1:-1000000}"

if [ -n "${SEGMENT_BENCH_INSTALLED:-}" ]; then
    make_workdir
    start_cluster
else
    bench_setup
fi

q -c "CREATE EXTENSION segment"
log "generating $customers customers (3 numeric, 3 categorical features)"
q -c "SELECT setseed(0.42); CREATE TABLE kp AS
      SELECT i, ARRAY[g * 30 + random() * 40, (g % 3) * 4 + random() * 6, exp(3 + (g % 2) + random())]::float8[] AS x,
             ARRAY['ch' || ((g + (random() * 2)::int) % 5),
                   'reg' || ((g * 3 + (random() * 5)::int) % 20),
                   'cat' || (random() * 49)::int] AS c
      FROM (SELECT i, i % 6 AS g FROM generate_series(1, $customers) i) s; ANALYZE kp"
q -c "SELECT 'levels: ' || (SELECT count(DISTINCT c[1]) FROM kp) || ', ' || (SELECT count(DISTINCT c[2]) FROM kp) || ', ' || (SELECT count(DISTINCT c[3]) FROM kp)"

log "kprototypes_fit(x, c, 6) vs kmeans_fit(x, 6)"
compare "k-prototypes, k = 6, $customers rows" \
    "SELECT segment.kprototypes_fit(x, c, 6) FROM kp" \
    "SELECT segment.kmeans_fit(x, 6) FROM kp"
q -c "SELECT 'k-prototypes cost ' || round(((m::jsonb)->>'inertia')::numeric, 1) || ', gamma ' || ((m::jsonb)->'categorical'->>'gamma') || ', iterations of the best run ' || ((m::jsonb)->>'n_iter')
      FROM (SELECT segment.kprototypes_fit(x, c, 6) AS m FROM kp) s"
