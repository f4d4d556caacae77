#!/usr/bin/env bash
# bench/parallel.sh -- parallel query: rfm_summary (and the quantile
# aggregates) with 2 parallel workers against parallel query off, timed in
# the same run on the same data.
#
#   bench/parallel.sh [rows [customers]]   (default 10,000,000 orders of rows/100 customers)
#
# The orders table is generated here: customer (bigint), ordered_at
# (timestamptz, 1,500 days), amount (numeric(12,2)); 100 orders per customer
# by default, close to UCI Online Retail (397,884 lines of 4,338 customers).  Each query is timed as
# the median of 3 server execution times (EXPLAIN ANALYZE, TIMING OFF),
# alternating between the two settings; the parallel runs must launch 2
# workers.  Goal: rfm_summary at least 1.6x faster with 2 workers.
# Set SEGMENT_SKIP_BUILD=1 to use the installed build (no apt, no make clean).
set -euo pipefail
. "$(dirname "$0")/common.sh"
rows="${1:-10000000}"
customers="${2:-$((rows / 100))}"

if [ -n "${SEGMENT_SKIP_BUILD:-}" ]; then
    make_workdir
    start_cluster
else
    bench_setup
fi

q -c "CREATE EXTENSION segment"
log "generating $rows orders of $customers customers"
q -c "CREATE TABLE orders AS
      SELECT (i * 7919) % $customers AS customer,
             timestamptz '2020-01-01' + ((i * 104729) % 1500) * interval '1 day' AS ordered_at,
             (((i * 2654435761) % 100000) / 100.0)::numeric(12,2) AS amount
      FROM generate_series(1::bigint, $rows) i"
q -c "VACUUM ANALYZE orders"
q -c "SELECT 'orders: ' || count(*) || ', customers: ' || count(DISTINCT customer) FROM orders"

# One run: server execution time (ms) and workers launched, under PGOPTIONS.
run() {
    PGOPTIONS="$1" q -c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) $2" |
        /usr/bin/python3 -c '
import json, sys
plan = json.load(sys.stdin)[0]
def launched(node):
    return node.get("Workers Launched", 0) + sum(launched(c) for c in node.get("Plans", []))
print(plan["Execution Time"], launched(plan["Plan"]))'
}

# Median of 3 alternating runs with 2 workers and with parallel query off.
versus() {
    local name="$1" query="$2" par=() ser=() workers=() i t w
    for i in 1 2 3; do
        read -r t w < <(run "-c max_parallel_workers_per_gather=2" "$query")
        par+=("$t"); workers+=("$w")
        read -r t w < <(run "-c max_parallel_workers_per_gather=0" "$query")
        ser+=("$t")
    done
    /usr/bin/python3 - "$name" "${par[@]}" "${ser[@]}" "${workers[@]}" <<'PY'
import sys, statistics
name = sys.argv[1]
par = statistics.median(map(float, sys.argv[2:5]))
ser = statistics.median(map(float, sys.argv[5:8]))
workers = sys.argv[8:11]
print(f"{name}: 2 workers {par:.0f} ms (workers launched {','.join(workers)}), "
      f"parallel off {ser:.0f} ms; speed-up {ser/par:.2f}x")
PY
}

log "rfm_summary per customer over all orders"
versus "rfm_summary" \
    "SELECT customer, segment.rfm_summary(ordered_at, amount, '2025-01-01') FROM orders GROUP BY customer"

log "quantile cut points of all order amounts"
versus "quantile_breaks (exact, 1.0)" "SELECT segment.quantile_breaks(amount::float8, 5) FROM orders"
versus "quantile_partial (sketch)" "SELECT segment.quantile_breaks(segment.quantile_partial(amount::float8, 5)) FROM orders"
