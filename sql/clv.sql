-- Customer lifetime value: clv_model type, BG/NBD, Pareto/NBD and
-- Gamma-Gamma fits on deterministic simulated data, predictions checked
-- against published values, forced parallel plans.
CREATE EXTENSION IF NOT EXISTS segment;
SET search_path = segment, public;
\set SHOW_CONTEXT never

-- 2,000 customers simulated from a BG/NBD-like process (rates and
-- drop-out probabilities from small mixtures, hashint8 as the random
-- source), calibration 26-38 weeks; zbar varies around a customer mean
CREATE TABLE clv_cust AS
WITH RECURSIVE base AS (
    SELECT i,
           (ARRAY[0.05, 0.15, 0.4, 1.0])[1 + i % 4]::float8 AS lam,
           (ARRAY[0.05, 0.2, 0.5])[1 + (i / 4) % 3]::float8 AS p,
           (26 + i % 13)::float8 AS t_end
    FROM generate_series(1, 2000) i
), sim AS (
    SELECT i, lam, p, t_end, 0::float8 AS tau, 0 AS k, false AS dead FROM base
    UNION ALL
    SELECT s.i, s.lam, s.p, s.t_end, n.tau, s.k + 1, n.u2 < s.p
    FROM sim s,
         LATERAL (SELECT s.tau - ln((hashint8(s.i * 1000 + s.k)::bigint + 2147483648.5) / 4294967296.0) / s.lam AS tau,
                         (hashint8(-(s.i * 1000 + s.k))::bigint + 2147483648.5) / 4294967296.0 AS u2) n
    WHERE NOT s.dead AND n.tau <= s.t_end
)
SELECT i AS id, max(k)::float8 AS x, round(max(tau)::numeric, 2)::float8 AS t_x, t_end AS t,
       CASE WHEN max(k) = 0 THEN 0
            ELSE round(((20 + 30 * (hashint8(i)::bigint + 2147483648.5) / 4294967296.0)
                        * (1 + 1.2 * ((hashint8(i + 7777777)::bigint + 2147483648.5) / 4294967296.0 - 0.5) / sqrt(max(k))))::numeric, 2)::float8
       END AS zbar
FROM sim GROUP BY i, t_end;
SELECT count(*) AS customers, count(*) FILTER (WHERE x > 0) AS repeaters,
       bool_and(t_x <= t AND (x > 0 OR t_x = 0)) AS valid
FROM clv_cust;

-- fits: rounded parameters, convergence, counts
CREATE TABLE clv_fits AS
SELECT 'bgnbd' AS kind, bgnbd_fit(x, t_x, t) AS m FROM clv_cust
UNION ALL SELECT 'pareto_nbd', pareto_nbd_fit(x, t_x, t) FROM clv_cust
UNION ALL SELECT 'gamma_gamma', gamma_gamma_fit(x, zbar) FROM clv_cust;
SELECT kind, p.key, round(p.value::numeric, 3) AS value
FROM clv_fits, jsonb_each_text(m::jsonb->'params') p ORDER BY 1, 2;
SELECT kind, m::jsonb->'converged' AS converged, m::jsonb->'n_customers' AS n,
       m::jsonb->'n_distinct' AS n_distinct, m::jsonb->'n_skipped_one_time' AS one_time,
       round((m::jsonb->>'log_likelihood')::numeric, 2) AS ll
FROM clv_fits ORDER BY 1;

-- identical summaries are grouped: tripling every customer changes the
-- counts, not the parameters
WITH tripled AS (SELECT c.* FROM clv_cust c, generate_series(1, 3)),
     f AS (SELECT bgnbd_fit(x, t_x, t) AS m FROM tripled)
SELECT f.m::jsonb->'n_customers' AS n, f.m::jsonb->'n_distinct' AS n_distinct,
       (SELECT bool_and(abs(p3.value::float8 / p1.value::float8 - 1) < 1e-6)
        FROM jsonb_each_text(f.m::jsonb->'params') p3
        JOIN jsonb_each_text((SELECT m FROM clv_fits WHERE kind = 'bgnbd')::jsonb->'params') p1
        USING (key)) AS same_params
FROM f;

-- options: penalizer shrinks the parameters, unit is recorded
SELECT m::jsonb->'penalizer' AS penalizer, m::jsonb->'unit' AS unit,
       (m::jsonb->'params'->>'a')::float8 < (SELECT (m::jsonb->'params'->>'a')::float8 FROM clv_fits WHERE kind = 'bgnbd') AS a_shrinks
FROM (SELECT bgnbd_fit(x, t_x, t, '{"penalizer": 0.01, "unit": "days", "max_iter": 200, "tol": 1e-6}') AS m FROM clv_cust) q;

-- text and jsonb round trips
SELECT m::text::clv_model::text = m::text AS text_round_trip,
       (m::jsonb)::text::clv_model::text = m::text AS jsonb_round_trip,
       clv_model_send(m) = clv_model_send(m::text::clv_model) AS binary_same
FROM clv_fits ORDER BY kind;
SELECT '{"model": "bgnbd", "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}}'::clv_model;

-- published values (Fader, Hardie & Lee 2005; BTYD walkthrough; lifetimes
-- tests from Hardie's spreadsheet), from hand-written models
CREATE TABLE clv_published (name text PRIMARY KEY, m clv_model);
INSERT INTO clv_published VALUES
  ('bgnbd_paper', '{"model": "bgnbd", "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}}'),
  ('bgnbd_lifetimes', '{"model": "bgnbd", "params": {"r": 0.242593, "alpha": 4.413532, "a": 0.792886, "b": 2.425752}}'),
  ('bgnbd_btyd', '{"model": "bgnbd", "params": {"r": 0.2425982, "alpha": 4.4136842, "a": 0.7929899, "b": 2.4261667}}'),
  ('pnbd_btyd', '{"model": "pareto_nbd", "params": {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.656}}'),
  ('gg_paper', '{"model": "gamma_gamma", "params": {"p": 6.25, "q": 3.74, "gamma": 15.44}}');
-- E[X(t)] at t = 1/7, 1, 3, 31.8571, 32, 78 weeks: 0.0078 0.0532 0.1506
-- 1.0405 1.0437 1.8576 (lifetimes' test, at its fitted parameters)
SELECT t, round(clv_expected_purchases(m, t)::numeric, 4) AS expected,
       abs(clv_expected_purchases(m, t) - published) < 1e-3 AS matches
FROM clv_published,
     unnest(ARRAY[0.1429, 1, 3, 31.8571, 32, 78], ARRAY[0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]) u(t, published)
WHERE name = 'bgnbd_lifetimes' ORDER BY t;
-- conditional expectation for (x=2, t_x=30.43, T=38.86) over 39 weeks: 1.226
SELECT round(clv_conditional_purchases(m, 2, 30.43, 38.86, 39)::numeric, 3)
FROM clv_published WHERE name = 'bgnbd_paper';
-- BTYD: E[X(52)] = 1.444004; customer 1516: 25.75659 and P(alive) 0.9688523
SELECT round(clv_expected_purchases(m, 52)::numeric, 5) AS e52,
       round(clv_conditional_purchases(m, 26, 30.85714, 31, 52)::numeric, 4) AS c1516,
       round(clv_probability_alive(m, 26, 30.85714, 31)::numeric, 6) AS palive1516,
       clv_probability_alive(m, 0, 0, 31) AS palive_no_repeat
FROM clv_published WHERE name = 'bgnbd_btyd';
-- Pareto/NBD, customer 1516: P(alive) 0.997874
SELECT round(clv_probability_alive(m, 26, 30.85714, 31)::numeric, 6) AS palive1516,
       round(clv_expected_purchases(m, 52)::numeric, 3) AS e52
FROM clv_published WHERE name = 'pnbd_btyd';
-- Gamma-Gamma: first ten CDNOW customers 24.65 18.91 35.17 35.17 35.17 71.46 18.91 35.17 27.28 35.17
-- (abs tol 0.1: the spreadsheet used unrounded parameters)
SELECT x, zbar, round(clv_expected_spend(m, x, zbar)::numeric, 2) AS spend,
       abs(clv_expected_spend(m, x, zbar) - published) < 0.1 AS matches
FROM clv_published,
     (VALUES (1, 2, 22.35, 24.65), (2, 1, 11.77, 18.91), (3, 0, 0, 35.17), (4, 0, 0, 35.17),
             (5, 0, 0, 35.17), (6, 7, 73.74, 71.46), (7, 1, 11.77, 18.91), (8, 0, 0, 35.17),
             (9, 2, 25.55, 27.28), (10, 0, 0, 35.17)) c(id, x, zbar, published)
WHERE name = 'gg_paper' ORDER BY id;

-- CLV: discounted expected spend over 12 months (weeks: 4.345 per month)
SELECT id, round(clv_lifetime_value(b.m, g.m, x, t_x, t, zbar)::numeric, 2) AS clv12,
       round(clv_lifetime_value(b.m, g.m, x, t_x, t, zbar, 24, 0.0)::numeric, 2) AS clv24_undiscounted,
       clv_lifetime_value(b.m, g.m, x, t_x, t, zbar, 0) AS clv0
FROM clv_cust,
     (SELECT m FROM clv_fits WHERE kind = 'bgnbd') b,
     (SELECT m FROM clv_fits WHERE kind = 'gamma_gamma') g
WHERE id IN (1, 2, 3, 4, 5) ORDER BY id;
-- predictions over all customers are finite and P(alive) in [0, 1]
SELECT kind, bool_and(clv_probability_alive(m, x, t_x, t) BETWEEN 0 AND 1) AS palive_ok,
       bool_and(clv_conditional_purchases(m, x, t_x, t, 52) >= 0) AS purchases_ok,
       round(sum(clv_conditional_purchases(m, x, t_x, t, 52))::numeric / count(*), 3) AS mean_52
FROM clv_fits, clv_cust WHERE kind <> 'gamma_gamma' GROUP BY kind ORDER BY kind;

-- forced parallel plans: partial aggregation gives the same models
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT bgnbd_fit(x, t_x, t) FROM clv_cust;
SELECT kind,
       (SELECT bool_and(abs(a.value::float8 / b.value::float8 - 1) < 1e-9)
        FROM jsonb_each_text(par::jsonb->'params') a
        JOIN jsonb_each_text(m::jsonb->'params') b USING (key)) AS same_params,
       par::jsonb->'n_customers' = m::jsonb->'n_customers' AS same_n
FROM (SELECT 'bgnbd' AS kind, bgnbd_fit(x, t_x, t) AS par FROM clv_cust
      UNION ALL SELECT 'pareto_nbd', pareto_nbd_fit(x, t_x, t) FROM clv_cust
      UNION ALL SELECT 'gamma_gamma', gamma_gamma_fit(x, zbar) FROM clv_cust) p
JOIN clv_fits USING (kind) ORDER BY kind;
-- no matching rows under a parallel plan: NULL, like avg()
SELECT bgnbd_fit(x, t_x, t) IS NULL AS empty_is_null FROM clv_cust WHERE id < 0;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;

-- clv_model_jsonb is the function behind the ::jsonb cast
SELECT bool_and(clv_model_jsonb(m) = m::jsonb) AS same_as_cast FROM clv_published;
