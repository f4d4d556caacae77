-- rfm_segment: named segments from a complete 5 x 5 map
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;

\i sql/include/err.sql

-- the whole default map, R (rows) against FM = round((F + M) / 2)
SELECT r, string_agg(rfm_segment(r, fm, fm), ' | ' ORDER BY fm) AS fm_1_to_5
FROM generate_series(1, 5) r, generate_series(1, 5) fm
GROUP BY r ORDER BY r DESC;

-- every one of the 125 score triples is named, with the eleven names
SELECT count(*) AS cells, count(rfm_segment(r, f, m)) AS named,
       count(DISTINCT rfm_segment(r, f, m)) AS names
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;
SELECT rfm_segment(r, f, m) AS segment, count(*)
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m
GROUP BY 1 ORDER BY 1;

-- FM rounds half up: F = 4, M = 5 counts as 5
SELECT rfm_segment(5, 4, 5), rfm_segment(5, 4, 3), rfm_segment(5, 1, 2);

-- the default map as an array, and a user map built from it
SELECT (rfm_segment_map())[5][5] AS top, (rfm_segment_map())[1][1] AS bottom;
SELECT rfm_segment(r, f, m, (SELECT array_agg(row ORDER BY r)
                             FROM (SELECT r, array_agg('R' || r || 'FM' || fm ORDER BY fm) AS row
                                   FROM generate_series(1, 5) r, generate_series(1, 5) fm GROUP BY r) x))
FROM (VALUES (1, 1, 1), (5, 5, 4), (3, 2, 5)) t(r, f, m);
-- the user map agrees with the default when given the default
SELECT bool_and(rfm_segment(r, f, m, rfm_segment_map()) = rfm_segment(r, f, m)) AS same
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;

-- STRICT: NULL score, NULL segment
SELECT rfm_segment(NULL, 1, 1) IS NULL AS null_score;

-- errors
SELECT pg_temp.err($$ SELECT rfm_segment(0, 1, 1) $$);
SELECT pg_temp.err($$ SELECT rfm_segment(1, 6, 1) $$);
SELECT pg_temp.err($$ SELECT rfm_segment(1, 1, -1) $$);
SELECT pg_temp.err($$ SELECT rfm_segment(1, 1, 1, '{a,b}') $$);
SELECT pg_temp.err($$ SELECT rfm_segment(1, 1, 1, array_fill('x'::text, ARRAY[5, 4])) $$);
SELECT pg_temp.err($$ SELECT rfm_segment(1, 1, 1, array_fill(NULL::text, ARRAY[5, 5])) $$);
