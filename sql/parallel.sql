-- Forced parallel plans: partial aggregation of rfm_summary and
-- quantile_breaks gives the same results as serial plans.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
SET TimeZone = 'UTC';

-- 20,000 orders of 500 customers in a scrambled physical order, so every
-- customer's orders are spread over the parallel workers' blocks
CREATE TABLE par_orders AS
SELECT (i * 7919) % 500 AS customer,
       '2023-01-01'::timestamptz + ((i * 104729) % 400) * interval '1 day'
           + ((i * 13) % 24) * interval '1 hour' AS ordered_at,
       round((((i * 2654435761) % 10000) / 100.0)::numeric - 5, 2) AS amount
FROM generate_series(1, 20000) i;
ANALYZE par_orders;

SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_summary AS
SELECT customer, rfm_summary(ordered_at, amount, '2024-01-15') AS s
FROM par_orders GROUP BY customer;
CREATE TEMP TABLE serial_breaks AS
SELECT quantile_breaks(amount::float8, 7) AS b FROM par_orders;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;

EXPLAIN (COSTS OFF)
SELECT customer, rfm_summary(ordered_at, amount, '2024-01-15')
FROM par_orders GROUP BY customer;
EXPLAIN (COSTS OFF)
SELECT quantile_breaks(amount::float8, 7) FROM par_orders;

CREATE TEMP TABLE parallel_summary AS
SELECT customer, rfm_summary(ordered_at, amount, '2024-01-15') AS s
FROM par_orders GROUP BY customer;
CREATE TEMP TABLE parallel_breaks AS
SELECT quantile_breaks(amount::float8, 7) AS b FROM par_orders;

-- identical per customer (sums compared to a rounding tolerance, since
-- floating-point addition in another order may differ in the last bit)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (a.s).recency_days = (b.s).recency_days
                          AND (a.s).frequency = (b.s).frequency
                          AND abs((a.s).monetary - (b.s).monetary) < 1e-6
                          AND abs((a.s).repeat_avg_amount - (b.s).repeat_avg_amount) < 1e-6
                          AND (a.s).first_at = (b.s).first_at
                          AND (a.s).last_at = (b.s).last_at
                          AND (a.s).repeat_periods = (b.s).repeat_periods
                          AND (a.s).t_x_days = (b.s).t_x_days
                          AND (a.s).t_days = (b.s).t_days) AS identical
FROM serial_summary a JOIN parallel_summary b USING (customer);
SELECT (SELECT b FROM serial_breaks) = (SELECT b FROM parallel_breaks) AS same_breaks;

-- partial aggregation over no rows at all (pgvector issue #1012)
SELECT quantile_breaks(amount::float8, 7) IS NULL AS empty_breaks,
       rfm_summary(ordered_at, amount, '2024-01-15') IS NULL AS empty_summary
FROM par_orders WHERE customer < 0;
