#!/usr/bin/env bash
# bench/rfm.sh -- RFM benchmark: segment against the idiomatic SQL, timed in
# the same run on the same data, at default settings.
#
#   bench/rfm.sh [customers]        (default 1,000,000 customers, ~4.5M orders)
#
# Times are server execution times from EXPLAIN (ANALYZE, TIMING OFF), the
# median of 3 runs each, alternating between the two sides.  Prints ratios.
set -euo pipefail
. "$(dirname "$0")/common.sh"
customers="${1:-1000000}"

bench_setup

q -c "CREATE EXTENSION segment"
log "generating $customers customers"
q -v customers="$customers" -f "$SEGMENT_ROOT/bench/generate_orders.sql" >/dev/null
q -c "CREATE TABLE customers AS
      SELECT customer, (s).recency_days::float8 AS recency, (s).frequency::float8 AS frequency, (s).monetary
      FROM (SELECT customer, segment.rfm_summary(ordered_at, amount, '2025-01-01') s
            FROM orders GROUP BY customer) x; ANALYZE customers"
q -c "SELECT 'orders: ' || (SELECT count(*) FROM orders) || ', customers: ' || (SELECT count(*) FROM customers)"


log "three scores over all customers: rfm_score vs ntile(5) OVER (ORDER BY ...)"
compare "scores" \
    "SELECT customer, segment.rfm_score(recency, 5, false) OVER (), segment.rfm_score(frequency) OVER (), segment.rfm_score(monetary) OVER () FROM customers" \
    "SELECT customer, ntile(5) OVER (ORDER BY recency DESC), ntile(5) OVER (ORDER BY frequency), ntile(5) OVER (ORDER BY monetary) FROM customers"

log "per-customer summary over all orders: rfm_summary vs GROUP BY max/count/sum"
compare "summary" \
    "SELECT customer, segment.rfm_summary(ordered_at, amount, '2025-01-01') FROM orders GROUP BY customer" \
    "SELECT customer, max(ordered_at), count(*), sum(amount) FROM orders GROUP BY customer"
