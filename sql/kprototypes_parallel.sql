-- kprototypes_fit under a forced parallel plan gives the same model as
-- serially: worker dictionaries are merged and categories renumbered in
-- byte order, so codes never depend on which worker saw a value first.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;

CREATE TABLE kp_par AS
SELECT i, ARRAY[(i % 4) * 3 + ((i * 7919) % 1000) / 1000.0,
                ((i * 104729) % 1000) / 500.0]::float8[] AS x,
       ARRAY[CASE WHEN i % 4 < 2 THEN 'F' ELSE 'M' END,
             'c' || ((i * 31) % 7),
             CASE WHEN i > 15000 THEN 'late' || (i % 3) ELSE 'early' END] AS c
FROM generate_series(1, 20000) i;
ANALYZE kp_par;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE kp_serial AS
SELECT kprototypes_fit(x, c, 4, '{"n_init": 2}') AS m, kprototypes_fit(x, c, 3) AS m2 FROM kp_par;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF) SELECT kprototypes_fit(x, c, 4, '{"n_init": 2}') FROM kp_par;

SELECT p.m::text = s.m::text AS same_model, p.m2::text = s.m2::text AS same_default_model,
       (p.m::jsonb)->'sizes' AS sizes, (p.m::jsonb)->'categorical'->'n_levels' AS n_levels
FROM (SELECT kprototypes_fit(x, c, 4, '{"n_init": 2}') AS m, kprototypes_fit(x, c, 3) AS m2 FROM kp_par) p, kp_serial s;

-- no matching rows in parallel: NULL, not an error
SELECT kprototypes_fit(x, c, 4) IS NULL AS empty_is_null FROM kp_par WHERE i < 0;
-- NULL rows only in some workers
SELECT (kprototypes_fit(CASE WHEN i > 15000 THEN NULL ELSE x END, c, 4)::jsonb)->>'n_null' AS n_null FROM kp_par;

-- assign_segment runs in parallel workers too, and agrees with the fitted sizes
SELECT seg, count(*) = ((SELECT m FROM kp_serial)::jsonb->'sizes'->>(seg - 1))::bigint AS matches_size
FROM (SELECT assign_segment(s.m, p.x, p.c) AS seg FROM kp_par p CROSS JOIN kp_serial s) a
GROUP BY seg ORDER BY seg;

RESET max_parallel_workers_per_gather;
DROP TABLE kp_par, kp_serial;
