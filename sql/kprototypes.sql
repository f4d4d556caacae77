-- k-prototypes (issue 8): kprototypes_fit, the kprototypes window function,
-- assign_segment / segment_distances with categories, model_prototypes,
-- model_categories, segment_profile and model_summary on mixed models.
-- Fitted values are checked by hand in the comments; the rest are
-- invariants (one model whatever the order, window = fit + assign).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
SET extra_float_digits = 0;

-- Four points on a line, x = 0, 1, 2, 3, with categories a, b, a, b;
-- no scaling, prototypes given as (0, a) and (3, b).
CREATE TABLE kp_line (id int, x float8[], c text[]);
INSERT INTO kp_line VALUES (1, '{0}', '{a}'), (2, '{1}', '{b}'), (3, '{2}', '{a}'), (4, '{3}', '{b}');

-- gamma 10: a mismatch costs more than any numeric distance here, so the
-- rows group by category: {0, 2} (mean 1, mode a) and {1, 3} (mean 2,
-- mode b); cost = 1 + 1 + 1 + 1 = 4.  Sizes tie, so segment 1 is the one
-- with the smaller centroid.
CREATE TABLE kp_models AS
SELECT 'g10' AS name, kprototypes_fit(x, c, 2, '{"scale": "none", "gamma": 10, "init": [[0, "a"], [3, "b"]], "tol": 0}') AS m FROM kp_line
UNION ALL
-- gamma 0: categories are ignored and this is k-means: {0, 1} and {2, 3},
-- cost 4 * 0.25 = 1.
SELECT 'g0', kprototypes_fit(x, c, 2, '{"scale": "none", "gamma": 0, "init": [[0, "a"], [3, "b"]], "tol": 0}') FROM kp_line;

SELECT name, (m::jsonb)->'inertia' AS cost, (m::jsonb)->'sizes' AS sizes,
       (m::jsonb)->'centroids' AS centroids, (m::jsonb)->'categorical'->'gamma' AS gamma,
       (m::jsonb)->'converged' AS converged
FROM kp_models ORDER BY name;

SELECT p.* FROM kp_models, model_prototypes(m) p WHERE name = 'g10';
SELECT p.* FROM kp_models, model_prototypes(m) p WHERE name = 'g0';
SELECT c.* FROM kp_models, model_categories(m) c WHERE name = 'g0' ORDER BY segment, feature, count DESC, category;

-- every training row gets its fitted segment back
SELECT l.id, assign_segment(m, l.x, l.c) AS g10 FROM kp_line l, kp_models WHERE name = 'g10' ORDER BY l.id;
SELECT l.id, assign_segment(m, l.x, l.c) AS g0 FROM kp_line l, kp_models WHERE name = 'g0' ORDER BY l.id;

-- an unseen category mismatches every segment: x = 0.9 is then nearest to
-- the mean 1 (segment 1): distances sqrt(0.01 + 10) and sqrt(1.21 + 10)
SELECT assign_segment(m, '{0.9}', '{zzz}') AS seg,
       round((segment_distances(m, '{0.9}', '{zzz}'))[1]::numeric, 9) AS d1,
       round(sqrt(10.01)::numeric, 9) AS expect_d1,
       round((segment_distances(m, '{0.9}', '{zzz}'))[2]::numeric, 9) AS d2,
       round(sqrt(11.21)::numeric, 9) AS expect_d2
FROM kp_models WHERE name = 'g10';
-- a known category decides: x = 1.9 with category a costs 0.81 to segment 1
-- and 0.01 + 10 to segment 2
SELECT assign_segment(m, '{1.9}', '{a}') AS seg_a, assign_segment(m, '{1.9}', '{b}') AS seg_b
FROM kp_models WHERE name = 'g10';

-- the window form fits the same model per partition
SELECT id, kprototypes(x, c, 2, '{"scale": "none", "gamma": 10, "init": [[0, "a"], [3, "b"]], "tol": 0}') OVER () AS seg
FROM kp_line ORDER BY id;

-- text form round-trips exactly; the jsonb cast shows the categorical part
SELECT name, m::text::segment_model::text = m::text AS roundtrip FROM kp_models ORDER BY name;
SELECT jsonb_pretty((m::jsonb)->'categorical') FROM kp_models WHERE name = 'g10';
SELECT (m::jsonb)->'options' AS options FROM kp_models WHERE name = 'g10';
SELECT model_summary(m)->'segments' AS segments, model_summary(m)->'categorical_features' AS features
FROM kp_models WHERE name = 'g10';
-- model_centroids keeps its columns and shows the numeric part
SELECT c.* FROM kp_models, model_centroids(m) c WHERE name = 'g10';

-- Default gamma: half the mean population standard deviation of the scaled
-- numeric features; z-scored features have standard deviation 1, so 0.5.
SELECT (kprototypes_fit(x, c, 2)::jsonb)->'categorical'->'gamma' AS default_gamma FROM kp_line;
-- with min-max scaling, x/3 has population std sqrt(5/4)/3: gamma = sqrt(5/4)/6
SELECT round((((kprototypes_fit(x, c, 2, '{"scale": "minmax"}')::jsonb)->'categorical'->>'gamma')::numeric), 12) AS minmax_gamma,
       round(sqrt(1.25) / 6, 12) AS expected FROM kp_line;

-- Groups that differ only in a category: both have x = 0..4 six times
-- each, so only the category separates them; every init recovers them
-- exactly.  z-scored x has variance 1 within each group: cost 30 + 30 = 60.
CREATE TABLE kp_cat AS
SELECT i, ARRAY[(i % 5)::float8] AS x, ARRAY[CASE WHEN i <= 30 THEN 'north' ELSE 'south' END] AS c
FROM generate_series(1, 60) i;
SELECT init, round(((m::jsonb)->>'inertia')::numeric, 9) AS cost, (m::jsonb)->'sizes' AS sizes,
       (SELECT array_agg(p.modes[1] ORDER BY p.segment) FROM model_prototypes(m) p) AS modes,
       (SELECT count(DISTINCT (assign_segment(m, x, c), c[1])) FROM kp_cat) AS pairs
FROM (VALUES ('huang'), ('cao'), ('k-means++')) v(init),
     LATERAL (SELECT kprototypes_fit(x, c, 2, jsonb_build_object('init', init, 'gamma', 10)) AS m FROM kp_cat) f
ORDER BY init;

-- The empty string is a category of its own (NULL elements are rejected,
-- see kprototypes_errors).
SELECT p.modes, p.size FROM model_prototypes(
  (SELECT kprototypes_fit(ARRAY[1.0]::float8[], ARRAY[v], 2, '{"gamma": 1}')
   FROM unnest(ARRAY['', '', '', 'x', 'x']) v)) p ORDER BY segment;

-- NULL arrays are skipped and counted, as in kmeans_fit; no rows: NULL
SELECT (m::jsonb)->'n' AS n, (m::jsonb)->'n_null' AS n_null FROM
  (SELECT kprototypes_fit(CASE WHEN id = 1 THEN NULL ELSE x END, CASE WHEN id = 2 THEN NULL ELSE c END, 1) AS m FROM kp_line) s;
SELECT kprototypes_fit(x, c, 2) IS NULL AS empty_is_null FROM kp_line WHERE id < 0;

-- Thousands of distinct values are fine (the limit is 10000 per feature);
-- the model keeps the 10 most frequent per segment.
CREATE TABLE kp_many AS
SELECT i, ARRAY[(i % 7)::float8] AS x, ARRAY['v' || (i % 5000), 'w' || (i % 3)] AS c
FROM generate_series(1, 10000) i;
SELECT (m::jsonb)->'categorical'->'n_levels' AS n_levels,
       (SELECT max(cnt) FROM (SELECT count(*) AS cnt FROM model_categories(m) GROUP BY segment, feature) s) AS max_listed
FROM (SELECT kprototypes_fit(x, c, 3, '{"n_init": 1, "max_iter": 5}') AS m FROM kp_many) f;

-- Row order does not matter: any input order gives the same model.
CREATE TABLE kp_mix AS
SELECT i, ARRAY[(i % 3) * 4 + sin(i), (i % 4) + cos(i)]::float8[] AS x,
       ARRAY[CASE WHEN i % 3 = 0 THEN 'F' ELSE 'M' END, 'r' || (i % 4)] AS c
FROM generate_series(1, 300) i;
SELECT count(DISTINCT m::text) AS distinct_models FROM (
  SELECT kprototypes_fit(x, c, 4 ORDER BY i) AS m FROM kp_mix
  UNION ALL SELECT kprototypes_fit(x, c, 4 ORDER BY i DESC) FROM kp_mix
  UNION ALL SELECT kprototypes_fit(x, c, 4 ORDER BY md5(i::text)) FROM kp_mix
  UNION ALL SELECT kprototypes_fit(x, c, 4 ORDER BY c[2], x[2]) FROM kp_mix) s;
-- the window function agrees with the aggregate's model and assign_segment
SELECT count(*) FILTER (WHERE w = a) AS agree, count(*) AS total FROM (
  SELECT kprototypes(x, c, 4) OVER () AS w,
         assign_segment((SELECT kprototypes_fit(x, c, 4) FROM kp_mix), x, c) AS a FROM kp_mix) s;
-- the same with the arguments read as columns of a subquery (the window
-- reads each row's two arrays from a tuple store; large arrays, out of line)
SELECT count(*) FILTER (WHERE w = a) AS agree, count(*) AS total FROM (
  SELECT kprototypes(x, c, 2) OVER () AS w, assign_segment(
           (SELECT kprototypes_fit(x, c, 2) FROM (SELECT i, array_fill(i::float8, ARRAY[10000]) AS x,
              array_fill(repeat(chr(65 + i % 2), 1000), ARRAY[1000]) AS c FROM generate_series(1, 4) i) q),
           x, c) AS a
  FROM (SELECT i, array_fill(i::float8, ARRAY[10000]) AS x,
               array_fill(repeat(chr(65 + i % 2), 1000), ARRAY[1000]) AS c
        FROM generate_series(1, 4) i OFFSET 0) s) t;
-- per partition
SELECT i % 2 AS part, count(DISTINCT seg) AS segments FROM (
  SELECT i, kprototypes(x, c, 3, '{"n_init": 2}') OVER (PARTITION BY i % 2) AS seg FROM kp_mix) s
GROUP BY 1 ORDER BY 1;
-- segment_profile describes the modes next to the numeric deviations
SELECT segment, size, description FROM segment_profile(
  (SELECT kprototypes_fit(x, c, 3, '{"feature_names": ["spend", "visits", "gender", "region"]}') FROM kp_mix));
-- seeds change only k-means++ and huang draws; every result is a valid model
SELECT count(DISTINCT (m::jsonb)->'n') AS n_values FROM (
  SELECT kprototypes_fit(x, c, 4, jsonb_build_object('seed', s, 'init', u.init)) AS m
  FROM kp_mix, generate_series(1, 3) s, unnest(ARRAY['huang', 'cao', 'k-means++']) u(init)
  GROUP BY s, u.init) t;

DROP TABLE kp_line, kp_models, kp_cat, kp_many, kp_mix;
