-- rfm_score: tie-aware quantile scores as a window function
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;

\i sql/include/err.sql

-- On distinct values the score equals ntile's bucket, also when n is not
-- a multiple of bins (the first n % bins buckets get one more row).
SELECT n, bool_and(s = t) AS same_as_ntile
FROM (SELECT n, rfm_score(v) OVER (PARTITION BY n) s,
             ntile(5) OVER (PARTITION BY n ORDER BY v) t
      FROM generate_series(1, 13) n, generate_series(1, n) v) q
GROUP BY n ORDER BY n;

-- Ties: 1000 customers, 40% of them ordered once.  Every equal value gets
-- the same score; ntile splits the customers who ordered once over two
-- buckets in whatever order the rows come.
CREATE TABLE customers AS
SELECT i AS id, CASE WHEN i <= 400 THEN 1 ELSE 2 + (i * 7919) % 50 END AS frequency
FROM generate_series(1, 1000) i;

SELECT ordered_once, score, count(*)
FROM (SELECT frequency = 1 AS ordered_once, rfm_score(frequency) OVER () AS score
      FROM customers) q
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(DISTINCT score) AS distinct_scores_for_equal_values
FROM (SELECT frequency, rfm_score(frequency) OVER () score FROM customers) q
WHERE frequency = 1;
SELECT count(DISTINCT bucket) AS ntile_buckets_for_equal_values
FROM (SELECT frequency, ntile(5) OVER (ORDER BY frequency) bucket FROM customers) q
WHERE frequency = 1;
-- the whole tie group takes the score of its first position (1); score 2
-- is swallowed by the tie, so scores keep their quantile meaning
SELECT score, min(frequency), max(frequency), count(*)
FROM (SELECT frequency, rfm_score(frequency) OVER () score FROM customers) q
GROUP BY score ORDER BY score;

-- lower is better (recency): bins + 1 - ascending score
SELECT v, rfm_score(v) OVER () AS up, rfm_score(v, 5, false) OVER () AS down
FROM generate_series(1, 10) v ORDER BY v;

-- PARTITION BY scores each partition on its own; ORDER BY in the window
-- does not change the result
SELECT g, v, rfm_score(v, 3) OVER (PARTITION BY g) AS s,
       rfm_score(v, 3) OVER (PARTITION BY g ORDER BY v DESC) AS s_ordered
FROM (VALUES (1, 10.0), (1, 20), (1, 30), (2, 1), (2, 1), (2, 2), (2, 3)) t(g, v)
ORDER BY g, v;

-- NULL in, NULL out; NULLs do not count toward the quantiles
SELECT v, rfm_score(v, 2) OVER () FROM (VALUES (1.0), (NULL), (2), (3), (4)) t(v) ORDER BY v;
-- all NULL, all equal, a single row, bins = 1
SELECT rfm_score(NULL::float8) OVER () FROM generate_series(1, 2);
SELECT DISTINCT rfm_score(7) OVER () FROM generate_series(1, 10);
SELECT rfm_score(42) OVER ();
SELECT DISTINCT rfm_score(v, 1) OVER () FROM generate_series(1, 10) v;
-- bins = 100 on 10 rows: positions, as ntile(100) would give
SELECT v, rfm_score(v, 100) OVER (), ntile(100) OVER (ORDER BY v) FROM generate_series(1, 10) v ORDER BY v;

-- infinities are ordinary extremes
SELECT v, rfm_score(v, 3) OVER ()
FROM (VALUES ('-Infinity'::float8), (0), (1), ('Infinity')) t(v) ORDER BY v;

-- errors
SELECT pg_temp.err($$ SELECT rfm_score(v, 0) OVER () FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT rfm_score(v, 101) OVER () FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT rfm_score(v, NULL) OVER () FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT rfm_score(v, 5, NULL) OVER () FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT rfm_score(v, v::int) OVER () FROM generate_series(1, 3) v $$);
SELECT pg_temp.err($$ SELECT rfm_score(v) OVER () FROM (VALUES (1.0), ('NaN')) t(v) $$);
