-- k-means at scale (issue 7): kmeans_step and its state type, the scan
-- driver kmeans_fit_scan, and the fit modes sample / auto / scan.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;

-- A tiny table whose pass is checked by hand.  Model: scale none,
-- centroids (0,0) and (10,10).  Rows (0,0), (2,0) go to centroid 1: count
-- 2, mean (1,0), squared deviations from the mean (2,0); rows (10,10),
-- (12,10) to centroid 2: mean (11,10), (2,0).  Inertia at the model's
-- centroids: 0 + 4 + 0 + 4 = 8.  The NULL row is counted in n_null.
CREATE TABLE ks_tiny (i int, f float8[]);
INSERT INTO ks_tiny VALUES (1, '{0,0}'), (2, '{2,0}'), (3, '{10,10}'), (4, '{12,10}'), (5, NULL);

-- statistics pass over the template, then the initial model from given centroids
SELECT kmeans_step_template(2, '{"scale": "none"}')::jsonb->'centroids' AS template_centroid;
CREATE TABLE ks_m0 AS
SELECT kmeans_step_init(kmeans_step_partial(f, kmeans_step_template(2, '{"scale": "none"}')), 2,
                        '{"scale": "none", "init": [[0, 0], [10, 10]]}') AS m
FROM ks_tiny;
SELECT m::jsonb->'centroids' AS centroids, m::jsonb->'center' AS center,
       m::jsonb->'scale' AS scale, m::jsonb->>'mode' AS mode
FROM ks_m0;

-- the partial state: counts, means, m2, ranges, farthest rows
SELECT kmeans_step_partial(f, (SELECT m FROM ks_m0))::text::jsonb - 'model' AS state FROM ks_tiny;

-- one Lloyd step: centroids move to the means; sizes and inertia of the pass
SELECT n::jsonb->'centroids' AS centroids, n::jsonb->'sizes' AS sizes,
       n::jsonb->>'inertia' AS inertia, n::jsonb->>'n' AS n, n::jsonb->>'n_null' AS n_null,
       n::jsonb->>'n_iter' AS n_iter, n::jsonb->>'converged' AS converged, n::jsonb->>'mode' AS mode
FROM (SELECT kmeans_step(f, (SELECT m FROM ks_m0)) AS n FROM ks_tiny) q;
-- a second step from there moves nothing: converged
SELECT n2::jsonb->>'converged' AS converged, n2::jsonb->>'inertia' AS inertia
FROM (SELECT kmeans_step(f, (SELECT kmeans_step(f, (SELECT m FROM ks_m0)) FROM ks_tiny)) AS n2
      FROM ks_tiny) q;
-- finish: the model at its own centroids, canonical ids (largest first)
SELECT kmeans_step_finish(kmeans_step_partial(f, (SELECT m FROM ks_m0)))::jsonb->'sizes' AS sizes
FROM ks_tiny;

-- partial states of two shards, merged, give the one-table state
CREATE TABLE ks_parts AS
SELECT i <= 2 AS shard, kmeans_step_partial(f, (SELECT m FROM ks_m0)) AS s FROM ks_tiny GROUP BY 1;
SELECT kmeans_step_merge(s)::text =
       (SELECT kmeans_step_partial(f, (SELECT m FROM ks_m0))::text FROM ks_tiny) AS merged_equals_whole
FROM ks_parts;
SELECT kmeans_step_next(kmeans_step_merge(s))::jsonb->'centroids' AS merged_next FROM ks_parts;
-- a shard with no rows contributes nothing; only NULL features: next is NULL
SELECT kmeans_step_partial(f, (SELECT m FROM ks_m0)) IS NULL AS empty_state FROM ks_tiny WHERE i < 0;
SELECT kmeans_step(f, (SELECT m FROM ks_m0)) IS NULL AS null_rows_only FROM ks_tiny WHERE f IS NULL;

-- text and jsonb forms round-trip exactly
SELECT s::text::kmeans_step_state::text = s::text AS text_round_trip,
       length(kmeans_step_state_send(s)) > 0 AS has_binary_form
FROM (SELECT kmeans_step_partial(f, (SELECT m FROM ks_m0)) AS s FROM ks_tiny) q;

-- forged states are errors with SQLSTATE 22P02, never a crash
CREATE TABLE ks_state AS SELECT kmeans_step_partial(f, (SELECT m FROM ks_m0))::text::jsonb AS j FROM ks_tiny;
SELECT jsonb_set(j, '{counts}', '[2, 3]')::text::kmeans_step_state FROM ks_state;
\set VERBOSITY sqlstate
SELECT 'not json'::kmeans_step_state;
SELECT '[1, 2]'::kmeans_step_state;
SELECT (j - 'far')::text::kmeans_step_state FROM ks_state;
SELECT (j || '{"extra": 1}')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{version}', '2')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{counts}', '[2, 3]')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{counts}', '[-1, 5]')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{m2,0,0}', '-1')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{means,0,0}', '"NaN"')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{means,0,0}', '1e400')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{min,0}', '100')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{far,0,1}', '7')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{far}', '[[1,0,[0,0]],[1,0,[0,0]],[1,0,[0,0]]]')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{k}', '3')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{d}', '100000')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{model,k}', '3')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{model}', '{"version": 3}')::text::kmeans_step_state FROM ks_state;
SELECT jsonb_set(j, '{means,0}', '[1]')::text::kmeans_step_state FROM ks_state;
-- states of different models do not merge; one model per group
SELECT kmeans_step_merge(s) FROM (
  SELECT kmeans_step_partial(f, (SELECT m FROM ks_m0)) AS s FROM ks_tiny
  UNION ALL
  SELECT kmeans_step_partial(f, kmeans_step_template(2, '{}')) FROM ks_tiny) q;
SELECT kmeans_step(f, CASE WHEN i = 3 THEN kmeans_step_template(2, '{}') ELSE m END) FROM ks_tiny, ks_m0;
SELECT kmeans_step(f, NULL::segment_model) FROM ks_tiny;
SELECT kmeans_step(ARRAY[1, 2, 3]::float8[], m) FROM ks_m0;
SELECT kmeans_step(ARRAY['NaN', 1]::float8[], m) FROM ks_m0;
SELECT kmeans_step_init(kmeans_step_partial(f, kmeans_step_template(2, '{}')), 2, '{}') FROM ks_tiny;
SELECT kmeans_step_init(kmeans_step_partial(f, kmeans_step_template(2, '{}')), 2,
                        '{"init": [[0, 0], [1, 1]], "transform": {"1": "log1p"}}') FROM ks_tiny;
SELECT kmeans_step_init(kmeans_step_partial(f, kmeans_step_template(2, '{}')), 5,
                        '{"init": [[0,0],[1,1],[2,2],[3,3],[4,4]]}') FROM ks_tiny;
SELECT kmeans_step_template(0, '{}');
\set VERBOSITY default

-- Generated blobs: 20,000 rows around 5 centers in 3 features.
CREATE TABLE ks_blobs AS
SELECT i, (i % 5) * 4 + sin(i * 12.9898) * 1.3 AS x,
       ((i % 5) * 7) % 5 * 3 + cos(i * 78.233) * 1.1 AS y,
       (i % 3) + sin(i * 3.7) AS z
FROM generate_series(1, 20000) i;
ANALYZE ks_blobs;
CREATE TABLE ks_init AS
SELECT '{"init": [[0,0,0],[4,3,1],[8,6,2],[12,9,0],[16,12,1]]}'::jsonb AS o;

-- forced parallel plan: Partial Aggregate with a state that is not internal,
-- and the same pass as serially (up to rounding of sums taken in another order)
SET max_parallel_workers_per_gather = 0;
CREATE TABLE ks_m5 AS
SELECT kmeans_fit(ARRAY[x, y, z], 5, o || '{"max_iter": 2}') AS m FROM ks_blobs, ks_init GROUP BY o;
CREATE TABLE ks_serial AS SELECT kmeans_step(ARRAY[x, y, z], (SELECT m FROM ks_m5)) AS m FROM ks_blobs;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT kmeans_step(ARRAY[x, y, z], (SELECT m FROM ks_m5)) FROM ks_blobs;
SELECT abs((p.m::jsonb->>'inertia')::float8 / (s.m::jsonb->>'inertia')::float8 - 1) < 1e-12 AS same_inertia,
       p.m::jsonb->'sizes' = s.m::jsonb->'sizes' AS same_sizes,
       (SELECT max(abs(a::float8 - b::float8))
        FROM jsonb_array_elements(p.m::jsonb->'centroids') WITH ORDINALITY pc(c, r)
        JOIN jsonb_array_elements(s.m::jsonb->'centroids') WITH ORDINALITY sc(c, r) USING (r),
             LATERAL (SELECT jsonb_array_elements_text(pc.c) a, jsonb_array_elements_text(sc.c) b) e) < 1e-12
         AS same_centroids
FROM (SELECT kmeans_step(ARRAY[x, y, z], (SELECT m FROM ks_m5)) AS m FROM ks_blobs) p, ks_serial s;
-- sample mode merges across workers exactly: the same model as serially
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3000}')::text AS m
INTO TEMP ks_sample_par FROM ks_blobs;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3000}')::text = m
       AS sample_parallel_equals_serial
FROM ks_blobs, ks_sample_par GROUP BY m;

-- scan driver = in-memory kmeans_fit from the same initial centroids
CREATE TABLE ks_fit AS
SELECT kmeans_fit(ARRAY[x, y, z], 5, o) AS m FROM ks_blobs, ks_init GROUP BY o;
CREATE TABLE ks_scan AS
SELECT kmeans_fit_scan('ks_blobs', ARRAY['x', 'y', 'z'], 5, o) AS m FROM ks_init;
SELECT abs((s.m::jsonb->>'inertia')::float8 / (f.m::jsonb->>'inertia')::float8 - 1) < 1e-9 AS same_inertia,
       s.m::jsonb->'sizes' = f.m::jsonb->'sizes' AS same_sizes,
       s.m::jsonb->>'n_iter' = f.m::jsonb->>'n_iter' AS same_iterations,
       s.m::jsonb->>'mode' AS scan_mode, f.m::jsonb->>'mode' AS fit_mode,
       s.m::jsonb->'feature_names' AS names, s.m::jsonb->>'converged' AS converged
FROM ks_scan s, ks_fit f;
-- every row gets the same segment from both models
SELECT count(*) FILTER (WHERE assign_segment(s.m, ARRAY[x, y, z]) <> assign_segment(f.m, ARRAY[x, y, z])) AS differing
FROM ks_blobs, ks_scan s, ks_fit f;
-- seeded from a sample (k-means++ on a bottom-S sample), then scanned
SELECT m::jsonb->>'mode' AS mode, m::jsonb->>'converged' AS converged, m::jsonb->>'n' AS n,
       (m::jsonb->'options'->>'init') AS init,
       abs((m::jsonb->>'inertia')::float8 / (SELECT (m::jsonb->>'inertia')::float8 FROM ks_fit) - 1) < 0.01
         AS inertia_within_1pct
FROM (SELECT kmeans_fit_scan('ks_blobs', '{x,y,z}', 5, '{"sample_size": 2000, "seed": 3}') AS m) s;
-- columns of any numeric type, quoted names, NULLs skipped, views, minmax scaling
CREATE TABLE "KS odd" ("Recency ""days""" int, amount numeric, note text);
INSERT INTO "KS odd" SELECT i % 97, (i * 37) % 1000 / 10.0, 'x' FROM generate_series(1, 500) i;
INSERT INTO "KS odd" VALUES (NULL, 1, 'null row');
CREATE VIEW ks_view AS SELECT * FROM "KS odd" WHERE amount > 10;
SELECT m::jsonb->>'n' AS n, m::jsonb->>'n_null' AS n_null, m::jsonb->'feature_names' AS names,
       m::jsonb->'options'->>'scale' AS scale
FROM (SELECT kmeans_fit_scan('"KS odd"', ARRAY['Recency "days"', 'amount'], 3,
                             '{"scale": "minmax", "init": [[0, 0], [50, 50], [90, 90]]}') AS m) s;
SELECT m::jsonb->>'n' AS n FROM (SELECT kmeans_fit_scan('ks_view', '{amount}', 2, '{"init": [[20], [80]]}') AS m) s;
-- an array column holds all features
CREATE TABLE ks_arr AS SELECT i, ARRAY[x, y, z] AS f FROM ks_blobs;
SELECT abs((s.m::jsonb->>'inertia')::float8 / (f.m::jsonb->>'inertia')::float8 - 1) < 1e-9 AS array_column_same
FROM (SELECT kmeans_fit_scan('ks_arr', '{f}', 5, o) AS m FROM ks_init) s, ks_fit f;
-- empty source: NULL
CREATE TABLE ks_empty (a float8);
SELECT kmeans_fit_scan('ks_empty', '{a}', 2) IS NULL AS empty_is_null;

\set VERBOSITY sqlstate
SELECT kmeans_fit_scan('ks_blobs', '{x,nope}', 5);
SELECT kmeans_fit_scan('"KS odd"', '{note}', 2);
SELECT kmeans_fit_scan('ks_blobs', '{x,y}', 5, '{"scale": "robust"}');
SELECT kmeans_fit_scan('ks_blobs', '{x,y}', 5, '{"mode": "sample"}');
SELECT kmeans_fit_scan('ks_blobs', '{x,y}', 5, '{"min_segment_share": 0.1}');
SELECT kmeans_fit_scan('ks_blobs', '{x,y}', 0);
SELECT kmeans_fit_scan('ks_blobs', '{x,y}', 2, '{"init": [[0, 0, 0], [1, 1, 1]]}');
SELECT kmeans_fit_scan('ks_blobs', '{}', 2);
SELECT kmeans_fit_scan('ks_blobs', '{x,NULL}', 2);
SELECT kmeans_fit_scan('ks_blobs', '{x}', 2, '{"bogus": 1}');
SELECT kmeans_fit_scan('ks_empty', '{a}', NULL);
-- the driver runs as the caller: no privilege, no scan
CREATE ROLE ks_nobody;
SET ROLE ks_nobody;
SELECT kmeans_fit_scan('ks_blobs', '{x,y}', 2);
RESET ROLE;
DROP ROLE ks_nobody;
\set VERBOSITY default

-- mode sample: recorded in the model; independent of row order; with a
-- sample as large as the data it is the in-memory fit
SELECT m::jsonb->>'mode' AS mode, m::jsonb->>'sample_size' AS sample_size, m::jsonb->>'n' AS n,
       (SELECT sum(v::bigint) FROM jsonb_array_elements_text(m::jsonb->'sizes') v) AS sizes_sum,
       m::text = (SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3000}')::text
                  FROM (SELECT * FROM ks_blobs ORDER BY z DESC, i) o) AS order_independent
FROM (SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3000}') AS m FROM ks_blobs) s;
SELECT (s.m::jsonb - '{mode,sample_size}'::text[]) = (f.m::jsonb - '{mode,sample_size}'::text[]) AS full_sample_is_memory_fit
FROM (SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 20000}') AS m FROM ks_blobs) s,
     (SELECT kmeans_fit(ARRAY[x, y, z], 5) AS m FROM ks_blobs) f;
-- the sample model's inertia over all rows is close to the full fit's
SELECT ((kmeans_evaluate(ARRAY[x, y, z], (SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3000}')
                                           FROM ks_blobs))->>'inertia')::float8 /
        (SELECT (kmeans_fit(ARRAY[x, y, z], 5)::jsonb->>'inertia')::float8 FROM ks_blobs) - 1) < 0.01
       AS sample_inertia_within_1pct
FROM ks_blobs;
-- duplicates: identical rows share a key, so the sample is still a function
-- of the multiset (20 rows, 4 distinct; a sample of 12: whole values first)
SELECT kmeans_fit(ARRAY[x, 1], 2, '{"mode": "sample", "sample_size": 12}')::text =
       (SELECT kmeans_fit(ARRAY[x, 1], 2, '{"mode": "sample", "sample_size": 12}')::text
        FROM (SELECT (i % 4)::float8 AS x FROM generate_series(20, 1, -1) i) r) AS duplicates_order_independent
FROM (SELECT (i % 4)::float8 AS x FROM generate_series(1, 20) i) q;
-- the window form: same model as kmeans_fit, every row assigned
SELECT count(*) FILTER (WHERE w <> assign_segment(m, ARRAY[x, y, z])) AS window_differs
FROM (SELECT x, y, z, kmeans(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3000}') OVER () AS w
      FROM ks_blobs) q,
     (SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3000}') AS m FROM ks_blobs) f;

-- the window form in mode scan: passes over the partition; the segments of
-- kmeans_fit_scan over the same rows (same seeding sample), and of kmeans_fit
-- from given centroids; NULL features get NULL, per partition
SELECT count(*) FILTER (WHERE w <> assign_segment(m, ARRAY[x, y, z])) AS window_scan_differs
FROM (SELECT x, y, z, kmeans(ARRAY[x, y, z], 5, '{"mode": "scan", "sample_size": 2000, "seed": 3}') OVER () AS w
      FROM ks_blobs) q,
     (SELECT kmeans_fit_scan('ks_blobs', '{x,y,z}', 5, '{"sample_size": 2000, "seed": 3}') AS m) f;
SELECT count(*) FILTER (WHERE w <> assign_segment(m, ARRAY[x, y, z])) AS window_scan_given_differs
FROM (SELECT x, y, z, kmeans(ARRAY[x, y, z], 5, o || '{"mode": "scan"}') OVER () AS w FROM ks_blobs, ks_init) q,
     ks_fit f;
SELECT p, count(DISTINCT w) AS segments, count(*) FILTER (WHERE w IS NULL) AS null_rows
FROM (SELECT i % 2 AS p,
             kmeans(CASE WHEN i % 7 = 0 THEN NULL ELSE ARRAY[x, y, z] END, 3, '{"mode": "scan"}')
               OVER (PARTITION BY i % 2) AS w
      FROM ks_blobs) q
GROUP BY p ORDER BY p;

-- mode auto: in memory when the fit fits, a sample (of what fits) above
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "auto"}')::jsonb->>'mode' AS auto_small FROM ks_blobs;
SET segment.kmeans_memory_limit = '256kB';
SELECT m::jsonb->>'mode' AS auto_large, (m::jsonb->>'sample_size')::int < 20000 AS sampled,
       m::jsonb->>'n' AS n
FROM (SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "auto"}') AS m FROM ks_blobs) s;
SELECT count(DISTINCT w) AS window_auto_segments
FROM (SELECT kmeans(ARRAY[x, y, z], 5, '{"mode": "auto"}') OVER () AS w FROM ks_blobs) q;
\set VERBOSITY sqlstate
-- mode memory keeps the 1.0 behaviour
SELECT kmeans_fit(ARRAY[x, y, z], 5) FROM ks_blobs;
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 100000}') FROM ks_blobs;
RESET segment.kmeans_memory_limit;
-- mode scan needs the driver; bad values
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "scan"}') FROM ks_blobs;
SELECT kmeans(ARRAY[x, y, z], 5, '{"mode": "scan", "scale": "robust"}') OVER () FROM ks_blobs LIMIT 1;
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "fast"}') FROM ks_blobs;
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"sample_size": 0}') FROM ks_blobs;
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": 1}') FROM ks_blobs;
SELECT kmeans_fit(ARRAY[x, y, z], 5, '{"mode": "sample", "sample_size": 3}') FROM ks_blobs;
-- kmeans_sweep does not take the scale-out options
SELECT kmeans_sweep(ARRAY[x, y, z], 2, 3, '{"mode": "sample"}') FROM ks_blobs;
\set VERBOSITY default

RESET max_parallel_workers_per_gather;
DROP VIEW ks_view;
DROP TABLE ks_tiny, ks_m0, ks_parts, ks_state, ks_blobs, ks_init, ks_m5, ks_serial, ks_fit, ks_scan,
  "KS odd", ks_arr, ks_empty;
