-- Segment quality (issue 4): kmeans_evaluate, kmeans_sweep, segment_profile,
-- option min_segment_share, version 1 models.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
\i sql/include/err.sql

-- three well separated 2-D blobs of 100 rows and a tiny one of 3 rows (1%)
CREATE TEMP TABLE sq AS
SELECT i, ARRAY[c * 10 + ((i * 37) % 11) / 10.0, (c % 2) * 10 + ((i * 53) % 13) / 12.0]::float8[] AS f
FROM generate_series(0, 299) i, LATERAL (SELECT i % 3 AS c) s
UNION ALL
SELECT 1000 + i, ARRAY[60 + i / 10.0, 60]::float8[] FROM generate_series(0, 2) i;

CREATE TEMP TABLE sq_model AS
SELECT segment.kmeans_fit(f, 3, '{"scale": "none"}') AS m FROM sq WHERE i < 300;

-- evaluate: exact metrics, rounded
SELECT e->>'n' AS n, e->>'k' AS k, e->'sizes' AS sizes, e->>'silhouette_exact' AS exact,
       e->>'silhouette_sample_size' AS sample,
       round((e->>'silhouette')::numeric, 6) AS silhouette,
       round((e->>'davies_bouldin')::numeric, 6) AS davies_bouldin,
       round((e->>'calinski_harabasz')::numeric, 3) AS calinski_harabasz,
       round((e->>'inertia')::numeric, 6) = round(((m::jsonb)->>'inertia')::numeric, 6) AS inertia_is_model_inertia
FROM (SELECT segment.kmeans_evaluate(f, m) AS e FROM sq, sq_model WHERE i < 300) s, sq_model;

-- NULL features are counted, not evaluated; empty input gives NULL (like avg)
SELECT (segment.kmeans_evaluate(CASE WHEN i % 2 = 0 THEN f END, m))->>'n_null' AS n_null
FROM sq, sq_model WHERE i < 300;
SELECT segment.kmeans_evaluate(f, m) IS NULL AS empty_is_null FROM sq, sq_model WHERE false;
SELECT segment.kmeans_sweep(f, 2, 3) IS NULL AS empty_is_null FROM sq WHERE false;

-- a one-segment model: inertia and sizes, but the metrics are undefined (null)
SELECT e->>'silhouette' AS silhouette, e->>'davies_bouldin' AS db, e->>'calinski_harabasz' AS ch, e->'sizes' AS sizes
FROM (SELECT segment.kmeans_evaluate(f, m) AS e
      FROM sq, (SELECT segment.kmeans_fit(f, 1) AS m FROM sq) mm) s;

-- sweep: per-k metrics and sizes; the far tiny blob gets its own segment from k = 2,
-- so only k = 2 (its segment also holds a big blob) passes a 5% size floor
SELECT s->>'recommended_k' AS recommended_k, s->>'elbow_k' AS elbow_k, s->>'size_floor' AS size_floor,
       jsonb_path_query_array(s, '$.results[*].k') AS ks,
       jsonb_path_query_array(s, '$.results[*].sizes') AS sizes
FROM (SELECT segment.kmeans_sweep(f, 2, 5, '{"scale": "none"}') AS s FROM sq) x;
SELECT s->>'recommended_k' AS recommended_k_floor_5pct, s->>'size_floor_met' AS size_floor_met
FROM (SELECT segment.kmeans_sweep(f, 2, 5, '{"scale": "none", "min_segment_share": 0.05}') AS s FROM sq) x;

-- every k of a sweep is the model kmeans_fit gives for that k (the sweep
-- seeds each run once per trial count and reuses the prefixes: k = 3..7
-- share 3 local trials, k = 8..9 share 4); one iteration, so the result
-- shows the seeds
SET client_min_messages = warning;
SELECT r->>'k' AS k,
       r->>'inertia' = (SELECT (segment.kmeans_fit(f, (r->>'k')::int, '{"seed": 11, "n_init": 3, "max_iter": 1}')::jsonb)->>'inertia' FROM sq)
       AND r->'sizes' = (SELECT segment.kmeans_fit(f, (r->>'k')::int, '{"seed": 11, "n_init": 3, "max_iter": 1}')::jsonb->'sizes' FROM sq)
       AS same_as_kmeans_fit
FROM (SELECT segment.kmeans_sweep(f, 2, 9, '{"seed": 11, "n_init": 3, "max_iter": 1}') AS s FROM sq) x,
     jsonb_array_elements(s->'results') r
ORDER BY (r->>'k')::int;
RESET client_min_messages;

-- the same result with forced partial aggregation (combine/serialize)
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TEMP TABLE sq_par AS SELECT * FROM sq;  -- temp tables are never scanned in parallel
SELECT (SELECT segment.kmeans_evaluate(f, m) FROM sq, sq_model) =
       (SELECT segment.kmeans_evaluate(f, m) FROM sq_par, sq_model) AS same_evaluate;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- min_segment_share: k = 4 finds the tiny blob (3 of 303 rows, with a NOTICE);
-- with a 5% floor it is dissolved and k = 3 remains
SELECT (m::jsonb)->'sizes' AS sizes FROM (SELECT segment.kmeans_fit(f, 4, '{"scale": "none"}') AS m FROM sq) s;
SELECT (m::jsonb)->>'k' AS k, (m::jsonb)->>'requested_k' AS requested_k, (m::jsonb)->'sizes' AS sizes,
       (m::jsonb)->>'reduction' AS reduction
FROM (SELECT segment.kmeans_fit(f, 4, '{"scale": "none", "min_segment_share": 0.05}') AS m FROM sq) s;
SELECT segment, count(*)
FROM (SELECT segment.kmeans(f, 4, '{"scale": "none", "min_segment_share": 0.05}') OVER () AS segment FROM sq) s
GROUP BY 1 ORDER BY 1;

-- segment_profile: RFM-named features get words and a named RFM segment.
-- A centroid is scored as a customer with its values would be, against the
-- population's quintile breaks stored in the model (all 200 rows here):
-- recency breaks {7, 10, 302, 306}, frequency {2, 2, 20, 22}, monetary
-- {21, 22, 902, 907}; the recent half's centroid (8 days, 22 orders, 906)
-- scores R 4, F 4, M 4: Loyal (half the customers are not all Champions);
-- the lapsed half's (305 days, 2 orders, 21) R 2, F 1, M 1: At Risk
CREATE TEMP TABLE rfm AS
SELECT i, ARRAY[CASE WHEN i % 2 = 0 THEN 5 + i % 7 ELSE 300 + i % 11 END,
                CASE WHEN i % 2 = 0 THEN 20 + i % 5 ELSE 1 + i % 2 END,
                CASE WHEN i % 2 = 0 THEN 900 + i % 13 ELSE 20 + i % 3 END]::float8[] AS f
FROM generate_series(1, 200) i;
SELECT segment, size, share, ARRAY(SELECT round(x::numeric, 2) FROM unnest(centroid) x) AS centroid,
       ARRAY(SELECT round(x::numeric, 2) FROM unnest(deviation) x) AS deviation, description, rfm_segment
FROM (SELECT segment.kmeans_fit(f, 2, '{"feature_names": ["recency_days", "frequency", "monetary"]}') AS m FROM rfm) s,
     segment.segment_profile(m) ORDER BY segment;
SELECT (m::jsonb)->'quintiles' AS quintiles
FROM (SELECT segment.kmeans_fit(f, 2) AS m FROM rfm) s;
SELECT segment, description, rfm_segment
FROM (SELECT segment.kmeans_fit(f, 2) AS m FROM rfm) s,
     segment.segment_profile(m, ARRAY['visits', 'tenure', 'basket']) ORDER BY segment;

SELECT count(*) AS no_model_no_rows FROM segment.segment_profile(NULL);

-- version 1 and 2 models (text form) are still read (as the current version:
-- requested_k = k, no floor; mode memory)
SELECT (v1::jsonb)->>'version' AS version, (v1::jsonb)->>'requested_k' AS requested_k,
       (v1::jsonb)->>'min_segment_share' AS min_segment_share,
       (v1::jsonb)->>'mode' AS mode,
       segment.assign_segment(v1, ARRAY[20, 10]) AS segment
FROM (SELECT ((m::jsonb - 'requested_k' - 'reduction' - 'min_segment_share' - 'mode' - 'sample_size' - 'quintiles')
              || '{"version": 1}')::text::segment.segment_model AS v1 FROM sq_model) s;
SELECT (v2::jsonb)->>'version' AS version, (v2::jsonb)->>'mode' AS mode,
       (v2::jsonb)->>'sample_size' AS sample_size, v2::jsonb = m::jsonb - 'quintiles' AS same_model
FROM (SELECT ((m::jsonb - 'mode' - 'sample_size' - 'quintiles')
              || '{"version": 2}')::text::segment.segment_model AS v2, m FROM sq_model) s;

-- errors, with SQLSTATE
SELECT pg_temp.err($$ SELECT segment.kmeans_sweep(f, 1, 3) FROM sq $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_sweep(f, 4, 3) FROM sq $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_sweep(f, 2, 200) FROM sq $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_sweep(f, 2, NULL) FROM sq $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_sweep(f, 2, 3, '{"bogus": 1}') FROM sq $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_sweep(ARRAY[1, 'NaN']::float8[], 2, 3) $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_evaluate(ARRAY[1, 'NaN']::float8[], m) FROM sq_model $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_evaluate(ARRAY[1, 2, 3]::float8[], m) FROM sq_model $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_evaluate(f, NULL) FROM sq $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_fit(f, 3, '{"min_segment_share": 0.5}') FROM sq $$);
SELECT pg_temp.err($$ SELECT segment.kmeans_fit(f, 3, '{"min_segment_share": "x"}') FROM sq $$);
SELECT pg_temp.err($$ SELECT * FROM segment.segment_profile((SELECT m FROM sq_model), ARRAY['a']) $$);
SELECT pg_temp.err($$ SELECT replace(m::text, '"requested_k": 3', '"requested_k": 2')::segment.segment_model FROM sq_model $$);
