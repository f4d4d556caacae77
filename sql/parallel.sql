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

-- every other fitting aggregate under the same forced parallel plans:
-- the CLV fits, their portable partial forms, quantile_partial, and the
-- k-means evaluation aggregates (kmeans_fit itself: kmeans_parallel.sql)
CREATE TABLE par_customers AS
SELECT c, (c::bigint * 7) % 9 AS x,
       CASE WHEN (c::bigint * 7) % 9 = 0 THEN 0 ELSE (c::bigint * 13) % 30 END::float8 AS t_x,
       30 + (c % 9)::float8 AS t,
       CASE WHEN (c::bigint * 7) % 9 = 0 THEN 0 ELSE 5 + (c::bigint * 17) % 40 END::float8 AS zbar,
       ARRAY[(c % 4) * 3 + ((c::bigint * 7919) % 1000) / 1000.0,
             ((c::bigint * 104729) % 1000) / 500.0]::float8[] AS f
FROM generate_series(1, 20000) c;
ANALYZE par_customers;

RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fits AS
SELECT bgnbd_fit(x, t_x, t, '{"tol": 1e-4}')::text AS bgnbd,
       pareto_nbd_fit(x, t_x, t, '{"penalizer": 0.001}')::text AS pnbd,
       gamma_gamma_fit(x, zbar)::text AS gg,
       clv_fit(bgnbd_partial(x, t_x, t, '{"tol": 1e-4}'))::text AS bgnbd_p,
       clv_fit(pareto_nbd_partial(x, t_x, t, '{"penalizer": 0.001}'))::text AS pnbd_p,
       clv_fit(gamma_gamma_partial(x, zbar))::text AS gg_p,
       quantile_breaks(quantile_partial(zbar, 5))::text AS qb,
       quantile_breaks(quantile_partial(t_x + c / 1e5, 5, 64))::text AS qb_sketch,
       quantile_rank_error(quantile_partial(t_x + c / 1e5, 5, 64)) AS qb_sketch_err,
       kmeans_sweep(f, 2, 4, '{"n_init": 2}')::text AS sweep
FROM par_customers;
CREATE TEMP TABLE serial_model AS SELECT kmeans_fit(f, 3, '{"n_init": 2}') AS m FROM par_customers;
CREATE TEMP TABLE serial_eval AS
SELECT kmeans_evaluate(f, (SELECT m FROM serial_model))::jsonb AS e FROM par_customers;

SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT bgnbd_fit(x, t_x, t), pareto_nbd_fit(x, t_x, t), gamma_gamma_fit(x, zbar) FROM par_customers;
EXPLAIN (COSTS OFF) SELECT bgnbd_partial(x, t_x, t), pareto_nbd_partial(x, t_x, t), gamma_gamma_partial(x, zbar), quantile_partial(zbar, 5) FROM par_customers;
EXPLAIN (COSTS OFF) SELECT kmeans_evaluate(f, (SELECT m FROM serial_model)), kmeans_sweep(f, 2, 4) FROM par_customers;

CREATE TEMP TABLE parallel_fits AS
SELECT bgnbd_fit(x, t_x, t, '{"tol": 1e-4}')::text AS bgnbd,
       pareto_nbd_fit(x, t_x, t, '{"penalizer": 0.001}')::text AS pnbd,
       gamma_gamma_fit(x, zbar)::text AS gg,
       clv_fit(bgnbd_partial(x, t_x, t, '{"tol": 1e-4}'))::text AS bgnbd_p,
       clv_fit(pareto_nbd_partial(x, t_x, t, '{"penalizer": 0.001}'))::text AS pnbd_p,
       clv_fit(gamma_gamma_partial(x, zbar))::text AS gg_p,
       quantile_breaks(quantile_partial(zbar, 5))::text AS qb,
       quantile_breaks(quantile_partial(t_x + c / 1e5, 5, 64))::text AS qb_sketch,
       quantile_rank_error(quantile_partial(t_x + c / 1e5, 5, 64)) AS qb_sketch_err,
       kmeans_sweep(f, 2, 4, '{"n_init": 2}')::text AS sweep
FROM par_customers;
CREATE TEMP TABLE parallel_eval AS
SELECT kmeans_evaluate(f, (SELECT m FROM serial_model))::jsonb AS e FROM par_customers;

-- CLV fits: exact tables, so identical models; the portable forms equal the
-- 1.0 aggregates; exact quantile states equal quantile_breaks
SELECT s.bgnbd = p.bgnbd AS bgnbd, s.pnbd = p.pnbd AS pnbd, s.gg = p.gg AS gg,
       p.bgnbd_p = s.bgnbd AS bgnbd_partial, p.pnbd_p = s.pnbd AS pnbd_partial, p.gg_p = s.gg AS gg_partial,
       p.qb = s.qb AS quantile_partial,
       p.qb = (SELECT quantile_breaks(zbar, 5)::text FROM par_customers) AS quantile_exact,
       s.sweep = p.sweep AS sweep
FROM serial_fits s, parallel_fits p;
-- a sketch merged in another order: each bound certifies its own cut points
-- (counted by SQL here), so serial and parallel are both checked
SELECT bool_and(r.upto >= r.target - r.e * 20000 AND r.below + 1 <= r.target + r.e * 20000) AS sketch_ranks_within_bound,
       bool_and(r.e < 2.0 / 64 * (log(2, 2 * 20000 / 64) + 1)) AS bound_within_a_priori
FROM (SELECT j * 4000 AS target, e,
             (SELECT count(*) FROM par_customers WHERE t_x + c / 1e5 < cut) AS below,
             (SELECT count(*) FROM par_customers WHERE t_x + c / 1e5 <= cut) AS upto
      FROM (SELECT g AS j, (b::float8[])[g] AS cut, e
            FROM (SELECT qb_sketch AS b, qb_sketch_err AS e FROM serial_fits
                  UNION ALL SELECT qb_sketch, qb_sketch_err FROM parallel_fits) x,
                 generate_series(1, 4) g) y) r;
-- kmeans_evaluate: the same sizes; sums in another order agree to rounding
SELECT s.e->'sizes' = p.e->'sizes' AS same_sizes,
       abs((s.e->>'inertia')::float8 / (p.e->>'inertia')::float8 - 1) < 1e-9 AS same_inertia,
       abs((s.e->>'davies_bouldin')::float8 / (p.e->>'davies_bouldin')::float8 - 1) < 1e-9 AS same_davies_bouldin,
       abs((s.e->>'silhouette')::float8 / (p.e->>'silhouette')::float8 - 1) < 1e-9 AS same_silhouette
FROM serial_eval s, parallel_eval p;

-- no rows in parallel
SELECT bgnbd_fit(x, t_x, t) IS NULL AS bgnbd, clv_fit(bgnbd_partial(x, t_x, t)) IS NULL AS bgnbd_partial,
       quantile_partial(zbar, 5) IS NULL AS quantile_partial, clv_merge(NULL::clv_state) IS NULL AS merge
FROM par_customers WHERE c < 0;
