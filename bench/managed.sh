#!/usr/bin/env bash
# bench/managed.sh -- managed segmentation benchmark: segment.refresh of a
# 1M-customer segmentation (3 features, k = 5) against the hand-written
# equivalent, kmeans_fit plus one INSERT ... SELECT assign_segment(...),
# timed in the same run on the same data (median of 3, alternating).
#
#   bench/managed.sh [customers]    (default 1,000,000)
#
# refresh does more than the baseline: Hungarian matching to the previous
# run, a join with the previous run's assignments (changes, "since"), the
# primary-key index of the history table, segment sizes and a sampled
# silhouette; every timed refresh has a previous run of the same size.
# BENCH_REUSE=1 uses the running server of PGHOST/PGPORT instead of
# building and starting a throwaway one.
set -euo pipefail
. "$(dirname "$0")/common.sh"
customers="${1:-1000000}"

if [ -z "${BENCH_REUSE:-}" ]; then bench_setup; fi

q -c "DROP DATABASE IF EXISTS segment_bench"
q -c "CREATE DATABASE segment_bench"
export PGDATABASE=segment_bench
q -c "CREATE EXTENSION segment"
log "generating $customers customers"
q -v n="$customers" <<'SQL'
CREATE TABLE customers AS
SELECT i AS customer_id,
       (abs(hashint4(i)) % 365)::float8 AS recency,
       1 + (abs(hashint4(i + 7919)) % 40)::float8 AS frequency,
       ln(10 + (abs(hashint4(i + 104729)) % 5000))::float8 AS monetary
FROM generate_series(1, :n) i;
ALTER TABLE customers ADD PRIMARY KEY (customer_id);
ANALYZE customers;
CREATE TABLE hand_assignments (customer_id text, segment integer);
SELECT name FROM segment.create_segmentation('bench', 'customers', 'customer_id',
       '{recency,frequency,monetary}', 5, '{"seed": 1}');
SELECT customers FROM segment.refresh('bench');
SQL

log "refresh vs kmeans_fit + INSERT ... SELECT assign_segment"
compare "refresh" \
    "SELECT segment.refresh('bench')" \
    "WITH m AS (SELECT segment.kmeans_fit(ARRAY[recency, frequency, monetary], 5, '{\"seed\": 1}') AS model FROM customers)
     INSERT INTO hand_assignments
     SELECT c.customer_id::text, segment.assign_segment(m.model, ARRAY[c.recency, c.frequency, c.monetary])
     FROM customers c, m"
q -c "SELECT 'last refresh steps: ' || steps::text FROM segment.runs ORDER BY run_id DESC LIMIT 1"
