-- kmeans_fit under a forced parallel plan gives the same model as serially.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;

CREATE TABLE km_par AS
SELECT i, ARRAY[(i % 4) * 3 + ((i * 7919) % 1000) / 1000.0,
                ((i * 104729) % 1000) / 500.0,
                (i % 4) * (i % 4) + ((i * 31) % 100) / 100.0]::float8[] AS f
FROM generate_series(1, 20000) i;
ANALYZE km_par;

SET max_parallel_workers_per_gather = 0;
CREATE TABLE km_serial AS
SELECT kmeans_fit(f, 4, '{"n_init": 2}') AS m, kmeans_fit(f, 4) AS m2 FROM km_par;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF) SELECT kmeans_fit(f, 4, '{"n_init": 2}') FROM km_par;

SELECT p.m::text = s.m::text AS same_model, p.m2::text = s.m2::text AS same_default_model,
       (p.m::jsonb)->'sizes' AS sizes
FROM (SELECT kmeans_fit(f, 4, '{"n_init": 2}') AS m, kmeans_fit(f, 4) AS m2 FROM km_par) p, km_serial s;

-- no matching rows in parallel: NULL, not an error
SELECT kmeans_fit(f, 4) IS NULL AS empty_is_null FROM km_par WHERE i < 0;
-- NULL rows only in some workers
SELECT (kmeans_fit(CASE WHEN i > 15000 THEN NULL ELSE f END, 4)::jsonb)->>'n_null' AS n_null FROM km_par;

-- assign_segment runs in parallel workers too, and agrees with the fitted sizes
SELECT seg, count(*) = ((SELECT m FROM km_serial)::jsonb->'sizes'->>(seg - 1))::bigint AS matches_size
FROM (SELECT assign_segment(s.m, p.f) AS seg FROM km_par p CROSS JOIN km_serial s) a
GROUP BY seg ORDER BY seg;

RESET max_parallel_workers_per_gather;
DROP TABLE km_par, km_serial;
