-- Portable partial states (issue 7): quantile_state and clv_state, their
-- partial / merge / finish forms, text and binary round trips, and forged
-- states rejected with clear errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
SET extra_float_digits = 0;

-- 30,000 values in 1,000 distinct values, split over 3 "shards"
CREATE TABLE so_values AS
SELECT i, (i * 7919) % 3 AS shard, ((i * 104729) % 1000)::float8 AS v
FROM generate_series(1::bigint, 30000) i;

-- exact data: the partial form gives quantile_breaks's cut points; by hand,
-- 1,000 distinct values 30 times each: break j is the value of rank 6000 j,
-- i.e. 200 j - 1
SELECT quantile_breaks(v, 5) AS one_node,
       quantile_breaks(quantile_partial(v, 5)) AS partial,
       quantile_rank_error(quantile_partial(v, 5)) AS rank_error
FROM so_values;
SELECT quantile_breaks(quantile_merge(s)) AS merged, quantile_rank_error(quantile_merge(s)) AS rank_error
FROM (SELECT shard, quantile_partial(v, 5) AS s FROM so_values GROUP BY shard) p;

-- exact mode (sketch_size 0) on distinct values
SELECT quantile_breaks(quantile_partial(i::float8, 4, 0)) AS exact_distinct,
       quantile_breaks(i::float8, 4) AS one_node
FROM so_values;

-- a small state: text form, ties, NULLs skipped, -0 folded, infinity kept
SELECT quantile_partial(v, 3) AS state
FROM (VALUES (1.0::float8), (2), (2), ('Infinity'), ('-0'), (NULL)) a(v);
SELECT quantile_breaks(quantile_partial(v, 3)) AS breaks, quantile_breaks(v, 3) AS one_node
FROM (VALUES (1.0::float8), (2), (2), ('Infinity'), ('-0'), (NULL)) a(v);

-- text round trip is exact, including a sketch's levels and error bound
CREATE TABLE so_states AS
SELECT shard, quantile_partial(v + i / 100000.0, 7, 64) AS s FROM so_values GROUP BY shard;
SELECT count(*) AS states, bool_and(s::text::quantile_state::text = s::text) AS text_round_trip
FROM so_states;

-- binary round trip (send / recv) through COPY
COPY so_states TO '/tmp/segment_regress_scaleout_q.bin' (FORMAT binary);
CREATE TABLE so_states_back (LIKE so_states);
COPY so_states_back FROM '/tmp/segment_regress_scaleout_q.bin' (FORMAT binary);
SELECT bool_and(a.s::text = b.s::text) AS binary_round_trip
FROM so_states a JOIN so_states_back b USING (shard);

-- a sketch: each cut point's rank is within the certified bound of the
-- exact rank (ranks counted by SQL, not by the extension)
CREATE TABLE so_sketch AS
SELECT quantile_merge(s) AS s FROM so_states;
WITH b AS (SELECT quantile_breaks(s) AS breaks, quantile_rank_error(s) AS e, 30000 AS n FROM so_sketch),
     j AS (SELECT g AS j, breaks[g] AS cut, e, n FROM b, generate_series(1, 6) g),
     r AS (SELECT j, e, n, cut,
                  (SELECT count(*) FROM so_values WHERE v + i / 100000.0 < cut) AS below,
                  (SELECT count(*) FROM so_values WHERE v + i / 100000.0 <= cut) AS upto
           FROM j)
SELECT count(*) AS cuts,
       bool_and(e > 0 AND e <= 2.0 / 64 * (log(2, 2 * 30000 / 64) + 1)) AS bound_within_a_priori,
       bool_and(upto >= (j * (n / 7) + least(j, n % 7)) - e * n
                AND below + 1 <= (j * (n / 7) + least(j, n % 7)) + e * n) AS ranks_within_bound
FROM r;

-- mismatched states and arguments
SELECT quantile_merge(s) FROM (SELECT quantile_partial(v, 5) s FROM so_values
                               UNION ALL SELECT quantile_partial(v, 4) FROM so_values) x;
SELECT quantile_partial(v, 5, 10) FROM so_values;
SELECT quantile_partial(v, 5, NULL) FROM so_values;
SELECT quantile_partial(v, 0) FROM so_values;
SELECT quantile_partial('NaN', 5);
SELECT quantile_partial(v, 5) IS NULL AS no_rows FROM so_values WHERE v < 0;
SELECT quantile_breaks(quantile_partial(NULL::float8, 5)) IS NULL AS only_nulls;

-- forged text states: clear errors, never a crash
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 3, "error_bound": 0, "parity": 0, "levels": [[1,2,3]]}'::quantile_state;
SELECT '{"version": 2, "bins": 5, "sketch_size": 4096, "n": 3, "error_bound": 0, "parity": 0, "levels": [[1,2,3]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 4, "error_bound": 0, "parity": 0, "levels": [[1,2,3]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 5, "error_bound": 0, "parity": 0, "levels": [[1,2,3],[4]]}'::quantile_state;
SELECT '{"version": 1, "bins": 0, "sketch_size": 4096, "n": 3, "error_bound": 0, "parity": 0, "levels": [[1,2,3]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 7, "n": 3, "error_bound": 0, "parity": 0, "levels": [[1,2,3]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 0, "n": 3, "error_bound": 1, "parity": 0, "levels": [[1,2,3]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 3, "error_bound": 0, "parity": 0, "levels": [[1,"NaN",3]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 3, "error_bound": 0, "parity": 0, "levels": [[1,0x10,3]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 2, "error_bound": 0, "parity": 0, "levels": [[1,1e999]]}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 3, "error_bound": 0, "parity": 0, "levels": [[1,2,3]]} x'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 99999999999999999999, "error_bound": 0, "parity": 0, "levels": []}'::quantile_state;
SELECT '{"version": 1, "bins": 5, "sketch_size": 4096, "n": 0, "error_bound": 0, "parity": 5, "levels": []}'::quantile_state;
SELECT ('{"version": 1, "bins": 5, "sketch_size": 4096, "n": 0, "error_bound": 0, "parity": 0, "levels": ['
        || repeat('[],', 70) || '[]]}')::quantile_state;
SELECT quantile_breaks('{"version": 1, "bins": 5, "sketch_size": 4096, "n": 0, "error_bound": 0, "parity": 0, "levels": []}') IS NULL AS empty_state;
SELECT quantile_breaks('{"version": 1, "bins": 4, "sketch_size": 16, "n": 11, "error_bound": 2, "parity": 1, "levels": [[5,6,7],[1,3],[9]]}') AS hand_checked,
       quantile_rank_error('{"version": 1, "bins": 4, "sketch_size": 16, "n": 11, "error_bound": 2, "parity": 1, "levels": [[5,6,7],[1,3],[9]]}') AS share;

-- CLV: a hand-checkable state
SELECT bgnbd_partial(x, t_x, t) AS state
FROM (VALUES (0.0::float8, 0.0::float8, 10.0::float8), (2, 5, 10), (2, 5, 10), (0, 0, 10),
             (NULL, 1, 2), (1, 0.5, 9)) a(x, t_x, t);
SELECT gamma_gamma_partial(x, m, '{"penalizer": 0.01, "unit": "days"}') AS state
FROM (VALUES (0.0::float8, 0.0::float8), (2, 10.5), (2, 10.5), (1, 3)) a(x, m);

-- generated customers (deterministic): the partial / merge / fit forms give
-- the 1.0 aggregates' models, whatever the sharding
CREATE TABLE so_customers AS
SELECT c, c % 3 AS shard,
       (c * 7) % 9 AS x,
       CASE WHEN (c * 7) % 9 = 0 THEN 0 ELSE ((c * 13) % 30) END::float8 AS t_x,
       30 + (c % 9)::float8 AS t,
       CASE WHEN (c * 7) % 9 = 0 THEN 0 ELSE 5 + (c * 17) % 40 END::float8 AS zbar
FROM generate_series(1, 2000) c;
CREATE TABLE so_fits AS
SELECT (SELECT bgnbd_fit(x, t_x, t, '{"tol": 1e-4}') FROM so_customers)::text AS bgnbd_one,
       (SELECT clv_fit(clv_merge(s)) FROM (SELECT bgnbd_partial(x, t_x, t, '{"tol": 1e-4}') s FROM so_customers GROUP BY shard) p)::text AS bgnbd_sharded,
       (SELECT pareto_nbd_fit(x, t_x, t, '{"penalizer": 0.001}') FROM so_customers)::text AS pnbd_one,
       (SELECT clv_fit(clv_merge(s::text::clv_state)) FROM (SELECT pareto_nbd_partial(x, t_x, t, '{"penalizer": 0.001}') s FROM so_customers GROUP BY shard) p)::text AS pnbd_sharded,
       (SELECT gamma_gamma_fit(x, zbar) FROM so_customers)::text AS gg_one,
       (SELECT clv_fit(clv_merge(s)) FROM (SELECT gamma_gamma_partial(x, zbar) s FROM so_customers GROUP BY shard) p)::text AS gg_sharded;
SELECT bgnbd_one = bgnbd_sharded AS same_bgnbd, pnbd_one = pnbd_sharded AS same_pnbd,
       gg_one = gg_sharded AS same_gg,
       (gg_one::jsonb->>'n_skipped_one_time')::int AS one_time
FROM so_fits;
SELECT (SELECT bgnbd_partial(x, t_x, t) FROM so_customers)::text
     = (SELECT clv_merge(s) FROM (SELECT bgnbd_partial(x, t_x, t) s FROM so_customers GROUP BY shard) p)::text
       AS merged_state_equals_one_node_state;

-- the support functions called directly: combine two states, then pack
-- them as the aggregates' final function does; the same as merging
CREATE TEMP TABLE so_clv_two AS
SELECT shard, gamma_gamma_partial(x, zbar) AS s FROM so_customers WHERE shard IN (0, 1) GROUP BY shard;
SELECT clv_state_pack(clv_state_combine(a.s, b.s))::text = (SELECT clv_merge(s) FROM so_clv_two)::text
       AS clv_combine_equals_merge
FROM so_clv_two a, so_clv_two b WHERE a.shard = 0 AND b.shard = 1;
CREATE TEMP TABLE so_q_two AS
SELECT shard, quantile_partial(v, 4, 0) AS s FROM so_values WHERE shard IN (0, 1) GROUP BY shard;
SELECT quantile_breaks(quantile_state_pack(quantile_state_combine(a.s, b.s))) =
       (SELECT quantile_breaks(quantile_merge(s)) FROM so_q_two) AS quantile_combine_equals_merge,
       quantile_breaks(quantile_state_pack(quantile_state_combine(a.s, b.s))) =
       (SELECT quantile_breaks(v, 4) FROM so_values WHERE shard IN (0, 1)) AS equals_one_node,
       quantile_state_pack(a.s)::text = a.s::text AS pack_keeps_a_packed_state
FROM so_q_two a, so_q_two b WHERE a.shard = 0 AND b.shard = 1;

-- binary round trip of clv_state through COPY
CREATE TABLE so_clv_states AS
SELECT shard, gamma_gamma_partial(x, zbar) AS s FROM so_customers GROUP BY shard;
COPY so_clv_states TO '/tmp/segment_regress_scaleout_c.bin' (FORMAT binary);
CREATE TABLE so_clv_back (LIKE so_clv_states);
COPY so_clv_back FROM '/tmp/segment_regress_scaleout_c.bin' (FORMAT binary);
SELECT bool_and(a.s::text = b.s::text) AS binary_round_trip
FROM so_clv_states a JOIN so_clv_back b USING (shard);

-- no rows, only NULLs, nobody repeated
SELECT bgnbd_partial(x, t_x, t) IS NULL AS no_rows FROM so_customers WHERE c < 0;
SELECT clv_fit(bgnbd_partial(x, t_x, t)) IS NULL AS all_null
FROM (VALUES (NULL::float8, 1::float8, 2::float8)) a(x, t_x, t);
SELECT clv_fit(bgnbd_partial(0, 0, t)) FROM so_customers;

-- mismatched merges and options
SELECT clv_merge(s) FROM (SELECT bgnbd_partial(x, t_x, t) s FROM so_customers
                          UNION ALL SELECT pareto_nbd_partial(x, t_x, t) FROM so_customers) p;
SELECT clv_merge(s) FROM (SELECT bgnbd_partial(x, t_x, t) s FROM so_customers
                          UNION ALL SELECT bgnbd_partial(x, t_x, t, '{"penalizer": 0.1}') FROM so_customers) p;
SELECT bgnbd_partial(x, t_x, t, CASE WHEN c < 10 THEN '{}'::jsonb ELSE '{"tol": 1e-5}' END) FROM so_customers;
SELECT bgnbd_partial(x, t_x, t, '{"bogus": 1}') FROM so_customers;
SELECT bgnbd_partial(3, 5, 4);

-- forged clv_state texts
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": [[1,2,3,4],[1,2,3,1]]}'::clv_state;
SELECT '{"version": 1, "model": "kmeans", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": []}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "years", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": []}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": -1, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": []}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": 0, "max_iter": 0, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": []}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": [[1,5,3,1]]}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": [[1.5,1,3,1]]}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": [[1,1,3,0]]}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": -1, "n_skipped_one_time": 0, "summaries": []}'::clv_state;
SELECT '{"version": 1, "model": "gamma_gamma", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": [[0,5,1]]}'::clv_state;
SELECT '{"version": 1, "model": "gamma_gamma", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": [[1,5,2,1]]}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": 1, "n_skipped_null": 0, "n_skipped_one_time": 0, "summaries": []}'::clv_state;
SELECT '{"version": 1, "model": "bgnbd\u0000", "unit": "weeks"}'::clv_state;
SELECT '{"model": "bgnbd"}'::clv_state;
SELECT ''::clv_state;
SELECT clv_fit('{"version": 1, "model": "gamma_gamma", "unit": "weeks", "penalizer": 0, "max_iter": 500, "tol": 1e-07, "verbose": false, "n_skipped_null": 0, "n_skipped_one_time": 5, "summaries": []}');

DROP TABLE so_clv_two, so_q_two, so_values, so_states, so_states_back, so_sketch, so_customers, so_fits, so_clv_states, so_clv_back;

-- a long stream into a small sketch: the certified bound is capped at n (a
-- rank error of n is always true), so the state still reads back
SELECT quantile_rank_error(s) <= 1 AS bound_at_most_n,
       s::text::quantile_state::text = s::text AS text_round_trip
FROM (SELECT quantile_partial(hashint4(i)::float8, 5, 16) AS s FROM generate_series(1, 3000000) i) q;
