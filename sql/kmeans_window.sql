-- kmeans(...) OVER (...): one model per partition, equal to fit-then-assign.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
\set SHOW_CONTEXT never

CREATE TABLE km_win AS
SELECT i, i % 2 AS region,
       CASE WHEN i % 11 = 0 THEN NULL
            ELSE ARRAY[(i % 3) * 10 + ((i * 7919) % 100) / 100.0,
                       (i % 2) * 5 + ((i * 104729) % 100) / 100.0]::float8[] END AS f
FROM generate_series(1, 200) i;

-- the window form equals kmeans_fit + assign_segment, per partition, for every row
WITH w AS (
    SELECT i, region, f, kmeans(f, 3, '{"seed": 5}') OVER (PARTITION BY region) AS seg FROM km_win
), m AS (
    SELECT region, kmeans_fit(f, 3, '{"seed": 5}') AS m FROM km_win GROUP BY region
)
SELECT w.region, count(*) AS rows,
       count(*) FILTER (WHERE w.seg IS NOT DISTINCT FROM assign_segment(m.m, w.f)) AS agree,
       count(*) FILTER (WHERE w.seg IS NULL) AS null_rows
FROM w JOIN m USING (region) GROUP BY w.region ORDER BY w.region;

-- the default two-argument form, and ORDER BY in the window changes nothing
SELECT count(*) FILTER (WHERE a IS DISTINCT FROM b) AS differ
FROM (SELECT kmeans(f, 3) OVER () AS a, kmeans(f, 3) OVER (ORDER BY i DESC) AS b FROM km_win) s;

-- segment sizes per region
SELECT region, seg, count(*)
FROM (SELECT region, kmeans(f, 2, '{"scale": "none"}') OVER (PARTITION BY region) AS seg FROM km_win) s
GROUP BY 1, 2 ORDER BY 1, 2;

-- a partition of one row with k = 1; an all-NULL partition gives NULLs
SELECT g, kmeans(f, 1) OVER (PARTITION BY g) AS seg
FROM (VALUES (1, ARRAY[1, 2]::float8[]), (2, NULL), (2, NULL)) v(g, f)
ORDER BY g;

-- fewer distinct rows than k in a partition, NULL k, bad rows
SELECT kmeans(f, 3) OVER (PARTITION BY i % 100) FROM km_win;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans(f, NULL) OVER () FROM km_win;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans(CASE WHEN i = 5 THEN ARRAY[1]::float8[] ELSE f END, 2) OVER () FROM km_win;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans(f, 2, '{"nope": 1}') OVER () FROM km_win;
\echo :LAST_ERROR_SQLSTATE
-- k or options varying within a partition
SELECT kmeans(f, CASE WHEN i < 3 THEN 1 ELSE 3 END) OVER () FROM km_win;
\echo :LAST_ERROR_SQLSTATE
SELECT kmeans(f, 2, CASE WHEN i < 3 THEN '{}' ELSE '{"seed": 7}' END::jsonb) OVER () FROM km_win;
\echo :LAST_ERROR_SQLSTATE
-- a volatile argument evaluated again per row with another length
CREATE TEMP SEQUENCE km_seq;
SELECT g, kmeans(CASE WHEN nextval('km_seq') <= 2 THEN ARRAY[0, 100 * g]::float8[] ELSE ARRAY[0]::float8[] END,
                 2, '{"scale": "none"}') OVER ()
FROM generate_series(0, 1) g;
\echo :LAST_ERROR_SQLSTATE

DROP TABLE km_win;
