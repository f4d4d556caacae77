#!/usr/bin/env bash
# bench/rfm.sh -- RFM benchmark: segment against the idiomatic SQL, timed in
# the same run on the same data, at default settings.
#
#   bench/rfm.sh [customers]        (default 1,000,000 customers, ~4.5M orders)
#
# Times are server execution times from EXPLAIN (ANALYZE, TIMING OFF), the
# median of 3 runs each, alternating between the two sides.  Prints ratios.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"
customers="${1:-1000000}"

install_deps
build_install
make_workdir
start_cluster

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE EXTENSION segment"
log "generating $customers customers"
q -v customers="$customers" -f "$SEGMENT_ROOT/bench/generate_orders.sql" >/dev/null
q -c "CREATE TABLE customers AS
      SELECT customer, (s).recency_days::float8 AS recency, (s).frequency::float8 AS frequency, (s).monetary
      FROM (SELECT customer, segment.rfm_summary(ordered_at, amount, '2025-01-01') s
            FROM orders GROUP BY customer) x; ANALYZE customers"
q -c "SELECT 'orders: ' || (SELECT count(*) FROM orders) || ', customers: ' || (SELECT count(*) FROM customers)"

# median execution time (ms) of a query over 3 runs
time_ms() {
    q -c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) $1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
}
compare() {
    local name="$1" ours="$2" theirs="$3" a=() b=() i
    for i in 1 2 3; do
        a+=("$(time_ms "$ours")")
        b+=("$(time_ms "$theirs")")
    done
    python3 - "$name" "${a[@]}" "${b[@]}" <<'PY'
import sys, statistics
name = sys.argv[1]
a = statistics.median(map(float, sys.argv[2:5]))
b = statistics.median(map(float, sys.argv[5:8]))
print(f"{name}: segment {a:.0f} ms, baseline {b:.0f} ms, baseline/segment = {b/a:.2f}x")
PY
}

log "three scores over all customers: rfm_score vs ntile(5) OVER (ORDER BY ...)"
compare "scores" \
    "SELECT customer, segment.rfm_score(recency, 5, false) OVER (), segment.rfm_score(frequency) OVER (), segment.rfm_score(monetary) OVER () FROM customers" \
    "SELECT customer, ntile(5) OVER (ORDER BY recency DESC), ntile(5) OVER (ORDER BY frequency), ntile(5) OVER (ORDER BY monetary) FROM customers"

log "per-customer summary over all orders: rfm_summary vs GROUP BY max/count/sum"
compare "summary" \
    "SELECT customer, segment.rfm_summary(ordered_at, amount, '2025-01-01') FROM orders GROUP BY customer" \
    "SELECT customer, max(ordered_at), count(*), sum(amount) FROM orders GROUP BY customer"
