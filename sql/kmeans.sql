-- kmeans_fit, the segment_model type, assign_segment and friends on small
-- generated data: three well separated blobs whose centers are known.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;

-- 3 x 40 points around (0,0), (10,0), (0,10) with deterministic noise in [-0.5, 0.5)
CREATE TABLE km_blobs AS
SELECT i,
       ARRAY[(ARRAY[0, 10, 0])[i % 3 + 1] + ((i * 7919) % 1000) / 1000.0 - 0.5,
             (ARRAY[0, 0, 10])[i % 3 + 1] + ((i * 104729) % 1000) / 1000.0 - 0.5]::float8[] AS f,
       i % 3 AS truth
FROM generate_series(1, 120) i;

CREATE TABLE km_models AS
SELECT 'none' AS name, kmeans_fit(f, 3, '{"scale": "none"}') AS m FROM km_blobs
UNION ALL
SELECT 'zscore', kmeans_fit(f, 3) FROM km_blobs
UNION ALL
SELECT 'minmax', kmeans_fit(f, 3, '{"scale": "minmax", "seed": 7}') FROM km_blobs
UNION ALL
SELECT 'robust', kmeans_fit(f, 3, '{"scale": "robust", "n_init": 3}') FROM km_blobs
UNION ALL
SELECT 'random', kmeans_fit(f, 3, '{"init": "random", "scale": "none"}') FROM km_blobs
UNION ALL
SELECT 'given', kmeans_fit(f, 3, '{"init": [[1, 1], [9, 1], [1, 9]], "scale": "none"}') FROM km_blobs;

-- centroids in original units recover the known centers under every scaling
SELECT name, c.segment, round(c.centroid[1]::numeric, 1) AS x, round(c.centroid[2]::numeric, 1) AS y,
       c.size, round(c.share::numeric, 4) AS share
FROM km_models, model_centroids(m) c
ORDER BY name, c.segment;

-- metadata of the model
SELECT name, (m::jsonb)->>'k' AS k, (m::jsonb)->>'d' AS d, (m::jsonb)->>'n' AS n,
       (m::jsonb)->>'n_null' AS n_null, (m::jsonb)->'options' AS options,
       (m::jsonb)->'transform' AS transform
FROM km_models ORDER BY name;

-- inertia (scale none: sum of squared distances in original units)
SELECT name, round(((m::jsonb)->>'inertia')::numeric, 6) AS inertia
FROM km_models WHERE name IN ('none', 'random', 'given') ORDER BY name;

-- the text form round-trips exactly, and so does jsonb
SELECT name, m::text::segment_model::text = m::text AS text_roundtrip,
       (m::jsonb)::text::segment_model::text = m::text AS jsonb_roundtrip
FROM km_models ORDER BY name;

-- every training row is assigned its own blob, and segments match the truth 1:1
SELECT name, count(DISTINCT (truth, assign_segment(m, f))) AS pairs,
       count(DISTINCT assign_segment(m, f)) AS segments
FROM km_models, km_blobs GROUP BY name ORDER BY name;

-- canonical ids: equal sizes, so ordered by centroid (x, then y)
SELECT assign_segment(m, ARRAY[-0.2, 0.1]) AS near_origin,
       assign_segment(m, ARRAY[0.3, 9.6]) AS near_0_10,
       assign_segment(m, ARRAY[10.2, 0.4]) AS near_10_0
FROM km_models WHERE name = 'zscore';

-- distances: Euclidean in model space, the smallest is the assigned segment
SELECT name, round(d[1]::numeric, 4) AS d1, round(d[2]::numeric, 4) AS d2, round(d[3]::numeric, 4) AS d3
FROM (SELECT name, segment_distances(m, ARRAY[0, 0]) AS d FROM km_models WHERE name IN ('none', 'zscore')) s
ORDER BY name;

-- same data and seed: the same model whatever the row order; a different seed still finds the blobs
SELECT (SELECT kmeans_fit(f, 3 ORDER BY i) FROM km_blobs)::text =
       (SELECT kmeans_fit(f, 3 ORDER BY i DESC) FROM km_blobs)::text AS order_independent,
       (SELECT kmeans_fit(f, 3 ORDER BY (i * 37) % 120) FROM km_blobs)::text =
       (SELECT kmeans_fit(f, 3) FROM km_blobs)::text AS scrambled_same;

-- the same on 20,000 rows with long runs of ties, -0.0 next to 0.0 and
-- duplicates, for 2 to 5 features (the radix path up to 4, the comparison
-- sort beyond): three arrival orders, one model each
CREATE TEMP TABLE km_ties AS
SELECT i, ARRAY[CASE WHEN i % 7 = 0 THEN -0.0 ELSE (i % 5)::float8 END,
                (i % 3) * 0.25, ((i * 7919) % 1000) / 100.0, (i % 11)::float8, -(i % 2)::float8]::float8[] AS f
FROM generate_series(1, 20000) i;
SELECT dd AS d,
       (SELECT kmeans_fit(f[1:dd], 4, '{"n_init": 1}' ORDER BY i) FROM km_ties)::text =
       (SELECT kmeans_fit(f[1:dd], 4, '{"n_init": 1}' ORDER BY i DESC) FROM km_ties)::text AND
       (SELECT kmeans_fit(f[1:dd], 4, '{"n_init": 1}' ORDER BY (i * 7919) % 20011) FROM km_ties)::text =
       (SELECT kmeans_fit(f[1:dd], 4, '{"n_init": 1}' ORDER BY i) FROM km_ties)::text AS order_independent
FROM generate_series(2, 5) dd ORDER BY dd;

-- NULL feature arrays are skipped and counted; no non-NULL rows gives NULL
SELECT (m::jsonb)->>'n' AS n, (m::jsonb)->>'n_null' AS n_null
FROM (SELECT kmeans_fit(CASE WHEN i % 4 = 0 THEN NULL ELSE f END, 3) AS m FROM km_blobs) s;
SELECT kmeans_fit(f, 3) IS NULL AS empty_is_null FROM km_blobs WHERE i < 0;
SELECT kmeans_fit(NULL::float8[], 3) IS NULL AS all_null_is_null FROM km_blobs;
SELECT kmeans_fit(f, 3) FROM km_blobs WHERE false GROUP BY truth;

-- k = 1 and k = number of distinct points
SELECT (m::jsonb)->'sizes' AS sizes, round(((m::jsonb)->>'inertia')::numeric, 6) AS inertia
FROM (SELECT kmeans_fit(ARRAY[x, 0]::float8[], 1, '{"scale": "none"}') AS m
      FROM generate_series(1, 4) x) s;
SELECT (m::jsonb)->'sizes' AS sizes, (m::jsonb)->'centroids' AS centroids
FROM (SELECT kmeans_fit(ARRAY[x % 3, 0]::float8[], 3, '{"scale": "none"}') AS m
      FROM generate_series(1, 9) x) s;

-- log1p transform on a skewed amount, with feature names; centroids back in original units
CREATE TABLE km_money AS
SELECT i, ARRAY[(i % 2) * 50 + (i % 5), CASE WHEN i % 2 = 0 THEN 10 + i % 7 ELSE 1000 + 10 * (i % 7) END]::float8[] AS f
FROM generate_series(1, 100) i;
SELECT c.segment, round(c.centroid[1]::numeric, 3) AS days, round(c.centroid[2]::numeric, 3) AS amount, c.size
FROM (SELECT kmeans_fit(f, 2, '{"transform": {"amount": "log1p"}, "feature_names": ["days", "amount"]}') AS m
      FROM km_money) s, model_centroids(m) c
ORDER BY c.segment;
SELECT (m::jsonb)->'feature_names' AS names, (m::jsonb)->'transform' AS transform,
       model_summary(m)->'features'->1->>'name' AS second,
       assign_segment(m, ARRAY[51, 1070]) AS big_spender,
       assign_segment(m, ARRAY[2, 11]) AS small_spender
FROM (SELECT kmeans_fit(f, 2, '{"transform": {"2": "log1p"}, "feature_names": ["days", "amount"]}') AS m
      FROM km_money) s;

-- model_summary and model_centroids agree
SELECT s->>'k' AS k, jsonb_array_length(s->'segments') AS segments,
       (s->'segments'->0->>'size')::bigint = (SELECT size FROM model_centroids(m) WHERE segment = 1) AS sizes_agree
FROM (SELECT m, model_summary(m) AS s FROM km_models WHERE name = 'zscore') x;

-- the SRF stops early without trouble
SELECT segment FROM km_models, model_centroids(m) WHERE name = 'none' LIMIT 1;

-- a model stored in a table works the same (decoded once per query, cached by its bytes)
CREATE TABLE km_saved AS SELECT m FROM km_models WHERE name = 'zscore';
SELECT assign_segment(s.m, b.f) AS segment, count(*)
FROM km_saved s, km_blobs b GROUP BY 1 ORDER BY 1;

-- verbose reports each run as a NOTICE
SET client_min_messages = notice;
SELECT (kmeans_fit(ARRAY[x, 0]::float8[], 2, '{"verbose": true, "n_init": 1, "scale": "none", "max_iter": 1}')::jsonb)->'sizes' AS sizes
FROM generate_series(1, 4) x;

DROP TABLE km_blobs, km_models, km_money, km_saved;
