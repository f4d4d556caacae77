-- k-prototypes (issue 8): errors and their SQLSTATEs.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
\i sql/include/err.sql

CREATE TABLE kpe (id int, x float8[], c text[]);
INSERT INTO kpe SELECT i, ARRAY[i, i % 3]::float8[], ARRAY['g' || (i % 2), 'r' || (i % 3)]
FROM generate_series(1, 12) i;

-- NULL is not a category (22004); NULL arrays are skipped, NULL k is 22004
SELECT pg_temp.err($$SELECT kprototypes_fit(x, ARRAY['a', NULL], 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(ARRAY[1, NULL]::float8[], c, 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, NULL) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes(x, ARRAY['a', NULL], 2) OVER () FROM kpe$$);
-- the hint says how to make missing values a category
SELECT kprototypes_fit(x, ARRAY[NULL::text], 2) FROM kpe;

-- NaN and infinity (22000)
SELECT pg_temp.err($$SELECT kprototypes_fit(ARRAY['NaN', 1]::float8[], c, 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(ARRAY['-Infinity', 1]::float8[], c, 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT assign_segment((SELECT kprototypes_fit(x, c, 2) FROM kpe), ARRAY['NaN', 1]::float8[], ARRAY['g0', 'r0'])$$);

-- mismatched arities (2202E)
SELECT pg_temp.err($$SELECT kprototypes_fit(CASE WHEN id = 5 THEN ARRAY[1]::float8[] ELSE x END, c, 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, CASE WHEN id = 5 THEN ARRAY['a'] ELSE c END, 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, '{}'::text[], 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit('{}'::float8[], c, 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, ARRAY[['a', 'b'], ['c', 'd']], 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT assign_segment((SELECT kprototypes_fit(x, c, 2) FROM kpe), ARRAY[1]::float8[], ARRAY['g0', 'r0'])$$);
SELECT pg_temp.err($$SELECT assign_segment((SELECT kprototypes_fit(x, c, 2) FROM kpe), ARRAY[1, 2]::float8[], ARRAY['g0'])$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"feature_names": ["a", "b", "c"]}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"init": [[1, 2, "g0"], [3, 4, "g1"]]}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes(CASE WHEN id = 5 THEN ARRAY[1]::float8[] ELSE x END, c, 2) OVER () FROM kpe$$);

-- too many distinct values or too long a value (54000)
SELECT pg_temp.err($$SELECT kprototypes_fit(ARRAY[i]::float8[], ARRAY['v' || i], 2) FROM generate_series(1, 10001) i$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(ARRAY[i]::float8[], ARRAY[repeat('x', 1001)], 1) FROM generate_series(1, 2) i$$);

-- k versus the data and options (22023)
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 0) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 13) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(ARRAY[1]::float8[], ARRAY['a'], 2) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 3, '{"init": [[1, 2, "g0", "r0"]]}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, id % 2 + 1) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, CASE WHEN id = 3 THEN '{"seed": 1}' ELSE '{}' END::jsonb) FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes(x, c, id % 2 + 1) OVER () FROM kpe$$);

-- bad options (22023); the hint lists the valid ones
SELECT kprototypes_fit(x, c, 2, '{"k": 3}') FROM kpe;
SELECT kprototypes_fit(x, c, 2, '{"init": "random"}') FROM kpe;
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '[1]') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"gamma": -1}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"gamma": "high"}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"tol": 1}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"n_init": 0}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"scale": "log"}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"transform": {"1": "log1p"}}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"init": [["g0", 1], ["g1", 2]]}') FROM kpe$$);
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 2, '{"feature_names": ["a", "a", "b", "c"]}') FROM kpe$$);

-- models of the other kind (22023)
SELECT pg_temp.err($$SELECT assign_segment((SELECT kprototypes_fit(x, c, 2) FROM kpe), x) FROM kpe$$);
SELECT pg_temp.err($$SELECT segment_distances((SELECT kprototypes_fit(x, c, 2) FROM kpe), x) FROM kpe$$);
SELECT pg_temp.err($$SELECT assign_segment((SELECT kmeans_fit(x, 2) FROM kpe), x, c) FROM kpe$$);
SELECT pg_temp.err($$SELECT segment_distances((SELECT kmeans_fit(x, 2) FROM kpe), x, c) FROM kpe$$);
-- a k-means model has no categorical part: no modes, no category rows
SELECT count(*) AS rows, bool_and(modes IS NULL) AS no_modes FROM model_prototypes((SELECT kmeans_fit(x, 2) FROM kpe));
SELECT count(*) AS rows FROM model_categories((SELECT kmeans_fit(x, 2) FROM kpe));
SELECT (kmeans_fit(x, 2)::jsonb) ? 'categorical' AS has_categorical FROM kpe;

-- malformed categorical parts in the text form (22P02)
CREATE TABLE kpe_model AS SELECT kprototypes_fit(x, c, 2, '{"n_init": 1}')::jsonb AS j FROM kpe;
SELECT pg_temp.err(format('SELECT %L::segment_model', (SELECT jsonb_set(j, '{categorical,gamma}', '-1') FROM kpe_model)));
SELECT pg_temp.err(format('SELECT %L::segment_model', (SELECT jsonb_set(j, '{categorical,segments,0,0,top,0,1}', '1000') FROM kpe_model)));
SELECT pg_temp.err(format('SELECT %L::segment_model', (SELECT jsonb_set(j, '{categorical,n_levels}', '[2]') FROM kpe_model)));
SELECT pg_temp.err(format('SELECT %L::segment_model', (SELECT j #- '{categorical,segments,1}' FROM kpe_model)));
SELECT pg_temp.err(format('SELECT %L::segment_model', (SELECT jsonb_set(j, '{options,init}', '"random"') FROM kpe_model)));
SELECT pg_temp.err(format('SELECT %L::segment_model', (SELECT jsonb_set(j, '{categorical,extra}', '1') FROM kpe_model)));
-- the unedited text round-trips; without its categorical part it is a
-- k-means model of the numeric part
SELECT (SELECT j::text::segment_model::jsonb = j FROM kpe_model) AS roundtrip;
SELECT (SELECT (j - 'categorical')::text::segment_model::jsonb ? 'categorical' FROM kpe_model) AS still_categorical;

-- functions made for k-means models refuse a k-prototypes model (22023)
SELECT pg_temp.err($$SELECT kmeans_evaluate(x, (SELECT j::text::segment_model FROM kpe_model)) FROM kpe$$);
SELECT pg_temp.err($$SELECT * FROM match_segments((SELECT j::text::segment_model FROM kpe_model), (SELECT kmeans_fit(x, 2) FROM kpe))$$);
SELECT pg_temp.err($$SELECT sampled_silhouette((SELECT j::text::segment_model FROM kpe_model), ARRAY[[1, 2]]::float8[])$$);
SELECT pg_temp.err($$SELECT kmeans_step(x, (SELECT j::text::segment_model FROM kpe_model)) FROM kpe$$);
-- distinct rows counted after scaling: 0 and 1e-20 merge beside 1e20
SELECT pg_temp.err($$SELECT kprototypes_fit(x, c, 4) FROM (VALUES ('{0}'::float8[], '{A}'::text[]),
  ('{1e-20}', '{A}'), ('{0}', '{B}'), ('{1e20}', '{A}')) v(x, c)$$);

DROP TABLE kpe, kpe_model;
