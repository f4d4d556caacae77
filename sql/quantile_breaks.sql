-- quantile_breaks and score: stored cut points that agree with rfm_score
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
SET extra_float_digits = 0;

\i sql/include/err.sql

-- hand-checkable: 12 values into 5 bins start at positions 0, 3, 6, 8, 10,
-- so the cut points are the 3rd, 6th, 8th and 10th smallest values
SELECT quantile_breaks(v, 5) FROM generate_series(1, 12) v;
SELECT quantile_breaks(v * 1.5, 4) FROM generate_series(1, 8) v;

-- breaks + score reproduce rfm_score on the same data, both directions,
-- on tied, skewed data (an arithmetic hash, no random())
CREATE TABLE t AS
SELECT i, g, floor(exp(((i * 2654435761) % 1000) / 180.0))::float8 AS v
FROM generate_series(1, 5000) i, LATERAL (SELECT i % 3 AS g) x;
WITH b AS (SELECT g, quantile_breaks(v, 5) AS breaks FROM t GROUP BY g),
     s AS (SELECT g, v, rfm_score(v) OVER w AS up, rfm_score(v, 5, false) OVER w AS down
           FROM t WINDOW w AS (PARTITION BY g))
SELECT count(*) AS rows,
       count(*) FILTER (WHERE score(s.v, b.breaks) <> s.up) AS up_mismatches,
       count(*) FILTER (WHERE score(s.v, b.breaks, false) <> s.down) AS down_mismatches
FROM s JOIN b USING (g);

-- new values outside the training range score at the ends
SELECT score(-100, '{1,2,3,4}'), score(100, '{1,2,3,4}'), score(2, '{1,2,3,4}'),
       score(2.5, '{1,2,3,4}'), score(2.5, '{1,2,3,4}', false);
-- ties swallowing bins: equal breaks
SELECT score(1, '{1,1,5,9}'), score(2, '{1,1,5,9}');
-- bins = 1: no breaks, every value scores 1
SELECT quantile_breaks(v, 1), score(5, '{}') FROM generate_series(1, 3) v;
-- NULL values are skipped; empty and all-NULL input give NULL
SELECT quantile_breaks(v, 2) FROM (VALUES (1.0), (NULL), (3), (5)) t(v);
SELECT quantile_breaks(v, 5) IS NULL AS empty FROM generate_series(1, 3) v WHERE false;
SELECT quantile_breaks(NULL::float8, 5) IS NULL AS all_null;
-- fewer rows than bins
SELECT quantile_breaks(v, 5) FROM generate_series(1, 3) v;
-- STRICT: NULL value or breaks score NULL
SELECT score(NULL, '{1,2}') IS NULL, score(1, NULL) IS NULL;
-- usable as a window aggregate (the final function does not destroy its state)
SELECT v, quantile_breaks(v, 2) OVER (ORDER BY v) FROM generate_series(1, 4) v ORDER BY v;

-- errors
SELECT pg_temp.err($$ SELECT quantile_breaks(v, 0) FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT quantile_breaks(v, 101) FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT quantile_breaks(v, NULL) FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT quantile_breaks(v, v::int) FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT quantile_breaks('NaN', 3) $$);
SELECT pg_temp.err($$ SELECT score(1, '{3,2}') $$);
SELECT pg_temp.err($$ SELECT score(1, '{1,NULL}') $$);
SELECT pg_temp.err($$ SELECT score(1, '{{1,2},{3,4}}') $$);
SELECT pg_temp.err($$ SELECT score(1, '{1,NaN}') $$);
SELECT pg_temp.err($$ SELECT score('NaN', '{1,2}') $$);
SELECT pg_temp.err($$ SELECT score(1, array_fill(1.0::float8, ARRAY[100])) $$);
SET segment.quantile_exact_limit = 1000;
SELECT pg_temp.err($$ SELECT quantile_breaks(v, 5) FROM generate_series(1, 1001) v $$);
RESET segment.quantile_exact_limit;
