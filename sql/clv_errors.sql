-- Customer lifetime value: degenerate data and every validation error,
-- with its SQLSTATE.
CREATE EXTENSION IF NOT EXISTS segment;
SET search_path = segment, public;
\set SHOW_CONTEXT never

-- empty input and all-NULL input: NULL, like avg()
SELECT bgnbd_fit(x, x, x) IS NULL AS empty FROM (SELECT 1::float8 AS x WHERE false) e;
SELECT gamma_gamma_fit(NULL, NULL) IS NULL AS all_null;
-- NULL rows are skipped and counted
SELECT m::jsonb->'n_customers' AS n, m::jsonb->'n_skipped_null' AS skipped
FROM (SELECT bgnbd_fit(x, t_x, t) AS m
      FROM (VALUES (2, 5, 10), (NULL, 1, 10), (0, 0, 8), (1, NULL, 9), (3, 7, 12), (1, 2, 12), (0, 0, 12)) v(x, t_x, t)) q;

-- everyone bought once: no maximum, an error
SELECT bgnbd_fit(0, 0, i) FROM generate_series(1, 10) i;
\echo :LAST_ERROR_SQLSTATE
SELECT pareto_nbd_fit(0, 0, i) FROM generate_series(1, 10) i;
\echo :LAST_ERROR_SQLSTATE
SELECT gamma_gamma_fit(0, 10) FROM generate_series(1, 10) i;
\echo :LAST_ERROR_SQLSTATE

-- one customer: the likelihood has no interior maximum; reported, not hidden
SELECT m::jsonb->'converged' AS converged, m::jsonb->'n_customers' AS n
FROM (SELECT bgnbd_fit(3, 10, 20) AS m) q;
SELECT m::jsonb->'converged' AS converged FROM (SELECT gamma_gamma_fit(3, 20) AS m) q;
-- a penalizer makes it well posed
SELECT m::jsonb->'converged' AS converged
FROM (SELECT bgnbd_fit(3, 10, 20, '{"penalizer": 0.01}') AS m) q;

-- invalid summaries: 22023
SELECT bgnbd_fit(-1, 0, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1.5, 1, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1, 11, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT pareto_nbd_fit(1, -1, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT pareto_nbd_fit(0, 3, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1, 1, 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit('Infinity', 1, 10);
\echo :LAST_ERROR_SQLSTATE
-- zero and negative spend of a repeat buyer: 22023; of a one-time buyer: skipped
SELECT gamma_gamma_fit(2, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT gamma_gamma_fit(2, -5);
\echo :LAST_ERROR_SQLSTATE
SET client_min_messages = error;
SELECT m::jsonb->'n_skipped_one_time' AS one_time, m::jsonb->'n_customers' AS n
FROM (SELECT gamma_gamma_fit(x, z) AS m FROM (VALUES (0, -3), (0, 0), (2, 10), (3, 12), (1, 8), (4, 11)) v(x, z)) q;
RESET client_min_messages;

-- options: 22023
SELECT bgnbd_fit(1, 1, 10, '{"foo": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1, 1, 10, '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1, 1, 10, '{"penalizer": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1, 1, 10, '{"max_iter": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1, 1, 10, '{"tol": "small"}');
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(1, 1, 10, '{"unit": "years"}');
\echo :LAST_ERROR_SQLSTATE
SELECT bgnbd_fit(i, 1, 10, jsonb_build_object('max_iter', i)) FROM generate_series(1, 2) i;
\echo :LAST_ERROR_SQLSTATE

-- model text input: 22P02 for malformed text, 22023 for bad values
SELECT '{"model": "bgnbd", "params": {"r": 1, "alpha": 2, "a": 3}}'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"model": "bgnbd", "params": {"r": 1, "alpha": 2, "a": 3, "b": 4, "s": 1}}'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"model": "kmeans", "params": {}}'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"params": {"r": 1}}'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"model": "bgnbd", "params": {"r": 1, "alpha": 2, "a": 3, "b": 4}, "extra": 1}'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"model": "bgnbd", "params": {"r": 1, "alpha": 2, "a": 3, "b": 4}, "version": 2}'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '[1, 2]'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT 'not json'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"model": "bgnbd", "params": {"r": -1, "alpha": 2, "a": 3, "b": 4}}'::clv_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"model": "gamma_gamma", "params": {"p": 1, "q": 0, "gamma": 4}}'::clv_model;
\echo :LAST_ERROR_SQLSTATE

-- predictions: wrong model kind, invalid summaries and arguments: 22023
CREATE TABLE clv_err_models (name text PRIMARY KEY, m clv_model);
INSERT INTO clv_err_models VALUES
  ('bg', '{"model": "bgnbd", "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}}'),
  ('gg', '{"model": "gamma_gamma", "params": {"p": 6.25, "q": 3.74, "gamma": 15.44}}'),
  ('gg_q_small', '{"model": "gamma_gamma", "params": {"p": 6.25, "q": 0.5, "gamma": 15.44}}'),
  ('bg_ab_small', '{"model": "bgnbd", "params": {"r": 0.243, "alpha": 4.414, "a": 0.3, "b": 0.4}}');
SELECT clv_probability_alive(m, 1, 2, 10) FROM clv_err_models WHERE name = 'gg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_expected_spend(m, 1, 20) FROM clv_err_models WHERE name = 'bg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_probability_alive(m, 1, 12, 10) FROM clv_err_models WHERE name = 'bg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_conditional_purchases(m, -2, 0, 10, 5) FROM clv_err_models WHERE name = 'bg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_conditional_purchases(m, 2, 1, 10, -5) FROM clv_err_models WHERE name = 'bg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_expected_purchases(m, 'Infinity') FROM clv_err_models WHERE name = 'bg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_expected_spend(m, 2, 0) FROM clv_err_models WHERE name = 'gg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_expected_spend(m, 0, 0) FROM clv_err_models WHERE name = 'gg_q_small';
\echo :LAST_ERROR_SQLSTATE
-- a repeat buyer needs p x + q > 1 too: p = 0.1, q = 0.5 would give a negative "mean" spend
SELECT clv_expected_spend('{"model": "gamma_gamma", "params": {"p": 0.1, "q": 0.5, "gamma": 1}}', 1, 10);
\echo :LAST_ERROR_SQLSTATE
SELECT clv_lifetime_value(b.m, '{"model": "gamma_gamma", "params": {"p": 0.1, "q": 0.5, "gamma": 1}}', 2, 30, 38, 10)
FROM clv_err_models b WHERE b.name = 'bg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_lifetime_value(b.m, g.m, 2, 5, 10, 30, -1) FROM clv_err_models b, clv_err_models g WHERE b.name = 'bg' AND g.name = 'gg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_lifetime_value(b.m, g.m, 2, 5, 10, 30, 12, -1) FROM clv_err_models b, clv_err_models g WHERE b.name = 'bg' AND g.name = 'gg';
\echo :LAST_ERROR_SQLSTATE
SELECT clv_lifetime_value(g.m, b.m, 2, 5, 10, 30) FROM clv_err_models b, clv_err_models g WHERE b.name = 'bg' AND g.name = 'gg';
\echo :LAST_ERROR_SQLSTATE
-- a + b <= 1: the BG/NBD expectation's series is undefined: 22003, not NaN
SELECT clv_expected_purchases(m, 10) FROM clv_err_models WHERE name = 'bg_ab_small';
\echo :LAST_ERROR_SQLSTATE
-- x = 0 customers: P(alive) is 1 under BG/NBD; spend is the population mean
SELECT clv_probability_alive(b.m, 0, 0, 10) AS palive,
       round(clv_expected_spend(g.m, 0, 0)::numeric, 4) AS population_spend
FROM clv_err_models b, clv_err_models g WHERE b.name = 'bg' AND g.name = 'gg';
-- STRICT: NULL in, NULL out
SELECT clv_probability_alive(m, NULL, 1, 2) IS NULL AS null_in_null_out FROM clv_err_models WHERE name = 'bg';
