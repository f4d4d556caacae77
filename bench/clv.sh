#!/usr/bin/env bash
# bench/clv.sh -- CLV benchmark: segment's fitting aggregate and P(alive)
# against the plain SQL they compete with, timed in the same run on the
# same data, at default settings.
#
#   bench/clv.sh [customers]        (default 1,000,000 simulated customers)
#
# 1. bgnbd_fit(x, t_x, t) over all customers vs
#    SELECT count(*) FROM (SELECT x, t_x, t FROM ... GROUP BY 1, 2, 3):
#    the fit groups identical summaries itself, so it should cost a small
#    multiple of that grouping (target: at most 3x).
# 2. clv_probability_alive(model, x, t_x, t) over all customers vs the
#    same BG/NBD closed form written as a SQL expression (target: no slower).
# Times are server execution times from EXPLAIN (ANALYZE, TIMING OFF), the
# median of 3 runs each, alternating between the two sides.
set -euo pipefail
. "$(dirname "$0")/common.sh"
customers="${1:-1000000}"

bench_setup

q -c "CREATE EXTENSION segment"
log "simulating $customers BG/NBD customers (bench/clv_generate.py)"
q -c "CREATE TABLE cust (id int, x float8, t_x float8, t float8, zbar float8)"
/usr/bin/python3 "$SEGMENT_ROOT/bench/clv_generate.py" "$customers" | q -c "COPY cust FROM STDIN"
q -c "VACUUM ANALYZE cust"
q -c "SELECT 'customers: ' || count(*) || ', distinct (x, t_x, T): ' || (SELECT count(*) FROM (SELECT x, t_x, t FROM cust GROUP BY 1, 2, 3) s) FROM cust"
q -c "CREATE TABLE bench_model AS SELECT segment.bgnbd_fit(x, t_x, t, '{\"unit\": \"days\"}') AS m FROM cust"
q -c "SELECT 'fitted (true r=0.25 alpha=30 a=0.8 b=2.4): ' || (m::jsonb->'params')::text FROM bench_model"
q -c "CREATE TABLE bench_params AS
      SELECT (m::jsonb->'params'->>'r')::float8 AS r, (m::jsonb->'params'->>'alpha')::float8 AS alpha,
             (m::jsonb->'params'->>'a')::float8 AS a, (m::jsonb->'params'->>'b')::float8 AS b FROM bench_model"


log "BG/NBD fit vs GROUP BY x, t_x, t"
compare "bgnbd_fit" \
    "SELECT segment.bgnbd_fit(x, t_x, t, '{\"unit\": \"days\"}') FROM cust" \
    "SELECT count(*) FROM (SELECT x, t_x, t FROM cust GROUP BY 1, 2, 3) s"

log "P(alive) for every customer vs the closed form in SQL"
compare "probability_alive" \
    "SELECT sum(segment.clv_probability_alive(m, x, t_x, t)) FROM cust, bench_model" \
    "SELECT sum(CASE WHEN x = 0 THEN 1.0 ELSE 1.0 / (1.0 + a / (b + x - 1) * ((alpha + t) / (alpha + t_x)) ^ (r + x)) END) FROM cust, bench_params"
