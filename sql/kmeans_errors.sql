-- Every validation error of the k-means functions, with its SQLSTATE.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
\set SHOW_CONTEXT never

CREATE TABLE km_err AS
SELECT i, ARRAY[i % 5, i % 3]::float8[] AS f FROM generate_series(1, 30) i;

-- k out of range, NULL k
SELECT kmeans_fit(f, 0) FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, -1) FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, NULL) FROM km_err;
\echo :LAST_ERROR_SQLSTATE
-- k more than rows, more than distinct points (15 distinct here)
SELECT kmeans_fit(f, 31) FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 16) FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT (kmeans_fit(f, 15)::jsonb)->'sizes' FROM km_err;
-- distinct points are counted after scaling: 0 and 1e-20 become one point beside 1e20
SELECT kmeans_fit(ARRAY[x], 3) FROM unnest(ARRAY[0, 1e-20, 1e20]::float8[]) x;
\echo :LAST_ERROR_SQLSTATE
SELECT (kmeans_fit(ARRAY[x, y], 3)::jsonb)->'sizes' AS sizes
FROM (VALUES (0::float8, 1::float8), (1e-20, 0), (1e-20, 1), (1e20, 0)) v(x, y);

-- bad feature arrays
SELECT kmeans_fit(ARRAY[1, NULL]::float8[], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(ARRAY['NaN', 1]::float8[], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(ARRAY['Infinity', 1]::float8[], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(ARRAY[1, '-Infinity']::float8[], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit('{}'::float8[], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit('{{1,2},{3,4}}'::float8[], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(CASE WHEN i = 7 THEN ARRAY[1, 2, 3] ELSE f END, 2) FROM km_err;
\echo :LAST_ERROR_SQLSTATE
-- finite features whose mean or range overflow (22003, not a misleading k error)
SELECT kmeans_fit(ARRAY[x], 2) FROM (VALUES (1e308::float8), (1.5e308), (1.7e308), (-1e308)) v(x);
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(ARRAY[x], 2, '{"scale": "minmax"}') FROM (VALUES (1e308::float8), (-1e308), (0)) v(x);
\echo :LAST_ERROR_SQLSTATE

-- options: unknown, wrong types, bad values
SELECT kmeans_fit(f, 2, '{"n_clusters": 2}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '[1]') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"seed": "x"}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"seed": 1.5}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"n_init": 0}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"max_iter": true}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"tol": -1}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"init": "kmeans++"}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"init": [[1, 2]]}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"init": [[1, 2], [3]]}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"init": [[1, 2, 3], [3, 4, 5]]}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"scale": "standard"}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"transform": {"1": "log"}}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"transform": {"3": "log1p"}}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"transform": ["log1p"]}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"feature_names": ["a"]}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"feature_names": ["a", "a"]}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, 2, '{"verbose": 1}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
-- log1p of a negative value
SELECT kmeans_fit(ARRAY[i - 10, 1]::float8[], 2, '{"transform": {"1": "log1p"}}') FROM km_err;
\echo :LAST_ERROR_SQLSTATE
-- options or k changing within a group
SELECT kmeans_fit(f, 2, CASE WHEN i = 3 THEN '{"seed": 1}' ELSE '{}' END::jsonb) FROM km_err;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans_fit(f, CASE WHEN i = 3 THEN 3 ELSE 2 END) FROM km_err;
\echo :LAST_ERROR_SQLSTATE

-- over the memory limit
SET segment.kmeans_memory_limit = 64;
SELECT kmeans_fit(ARRAY[i, i]::float8[], 2) FROM generate_series(1, 10000) i;
\echo :LAST_ERROR_SQLSTATE
RESET segment.kmeans_memory_limit;

-- using a model: dimension mismatch, bad features, NULLs
CREATE TABLE km_err_model AS SELECT kmeans_fit(f, 2, '{"transform": {"1": "log1p"}}') AS m FROM km_err;
SELECT assign_segment(m, ARRAY[1, 2, 3]) FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_distances(m, ARRAY[1]) FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT assign_segment(m, ARRAY['NaN', 1]::float8[]) FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT assign_segment(m, ARRAY[-1, 1]) FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT assign_segment(m, NULL) IS NULL AS null_features, assign_segment(NULL, ARRAY[1, 2]) IS NULL AS null_model
FROM km_err_model;
SELECT count(*) AS no_rows FROM model_centroids(NULL);

-- corrupt model text
SELECT 'not json'::segment_model;
\echo :LAST_ERROR_SQLSTATE
SELECT '{"k": 2}'::segment_model;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(m::text, '"version": 3', '"version": 9')::segment_model FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(m::text, '"d": 2', '"d": 3')::segment_model FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT regexp_replace(m::text, '"sizes": \[\d+', '"sizes": [1')::segment_model FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT regexp_replace(m::text, '"scale": \[[^,]+', '"scale": [0')::segment_model FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(m::text, '"transform": ["log1p"', '"transform": ["sqrt"')::segment_model FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(m::text, '"n_null": 0', '"n_null": 0, "extra": 1')::segment_model FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE
SELECT replace(m::text, '"n_iter": ', '"n_iter": 1.5 + ')::segment_model FROM km_err_model;
\echo :LAST_ERROR_SQLSTATE

DROP TABLE km_err, km_err_model;
