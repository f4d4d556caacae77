-- rfm_summary: per-customer RFM and BTYD summary
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
SET search_path = segment, public;
SET TimeZone = 'UTC';
SET extra_float_digits = 0;

\i sql/include/err.sql

CREATE TABLE orders (customer int, ordered_at timestamptz, amount numeric);
INSERT INTO orders VALUES
    -- customer 1: two orders on day 1 (merged), repeat days 3 and 8, one after as_of
    (1, '2024-01-01 10:00', 10), (1, '2024-01-01 15:00', 5),
    (1, '2024-01-03 09:00', 7), (1, '2024-01-08 23:59', 9),
    (1, '2024-01-12 00:00', 100),
    -- customer 2: one order only (x = 0, zbar = 0)
    (2, '2024-01-05 12:00', 20),
    -- customer 3: a return (negative amount) on a repeat day
    (3, '2023-12-01', 50), (3, '2023-12-20', 30), (3, '2023-12-20', -30),
    -- customer 4: only orders after as_of
    (4, '2024-02-01', 10),
    -- customer 5: NULL time and NULL amount rows are not purchases
    (5, NULL, 10), (5, '2024-01-02', NULL), (5, '2024-01-04', 4);

-- Hand-checked: customer 1 has recency 10 - 8 = 2 days, 4 orders, 31 spent,
-- x = 2 repeat days, t_x = 7, T = 9, zbar = (7 + 9) / 2 = 8.
SELECT customer, (s).*
FROM (SELECT customer, rfm_summary(ordered_at, amount, '2024-01-10') AS s
      FROM orders GROUP BY customer) q
ORDER BY customer;

-- double precision amounts give the same result
SELECT (rfm_summary(ordered_at, amount::float8, '2024-01-10')).*
FROM orders WHERE customer = 1;

-- the time of day of as_of does not matter: days are calendar days
SELECT (rfm_summary(ordered_at, amount, '2024-01-10 23:00')).recency_days
FROM orders WHERE customer = 1;

-- days are calendar days in the session time zone
SET TimeZone = 'America/New_York';
SELECT (s).repeat_periods, (s).t_x_days
FROM (SELECT rfm_summary(t, 1.0, '2024-01-10 12:00+00') s
      FROM (VALUES ('2024-01-02 03:00+00'::timestamptz), ('2024-01-02 06:00+00')) v(t)) q;
SET TimeZone = 'UTC';
SELECT (s).repeat_periods, (s).t_x_days
FROM (SELECT rfm_summary(t, 1.0, '2024-01-10 12:00+00') s
      FROM (VALUES ('2024-01-02 03:00+00'::timestamptz), ('2024-01-02 06:00+00')) v(t)) q;

-- empty input and all-NULL input give NULL, like avg()
SELECT rfm_summary(ordered_at, amount, '2024-01-10') IS NULL AS empty_is_null
FROM orders WHERE false;
SELECT rfm_summary(NULL::timestamptz, NULL::numeric, '2024-01-10') IS NULL AS nulls_are_null;

-- bad input: clear errors with SQLSTATEs
SELECT pg_temp.err($$ SELECT rfm_summary(ordered_at, amount, NULL) FROM orders $$);
SELECT pg_temp.err($$ SELECT rfm_summary(ordered_at, amount, 'infinity') FROM orders $$);
SELECT pg_temp.err($$ SELECT rfm_summary('infinity'::timestamptz, 1.0, '2024-01-10') $$);
SELECT pg_temp.err($$ SELECT rfm_summary('-infinity'::timestamptz, 1.0, '2024-01-10') $$);
SELECT pg_temp.err($$ SELECT rfm_summary('2024-01-01'::timestamptz, 'NaN'::numeric, '2024-01-10') $$);
SELECT pg_temp.err($$ SELECT rfm_summary('2024-01-01'::timestamptz, 'Infinity'::float8, '2024-01-10') $$);
SELECT pg_temp.err($$ SELECT rfm_summary(ordered_at, amount, '2024-01-10'::timestamptz + customer * interval '1 day') FROM orders $$);

-- finite amounts whose sum overflows: an error, not Infinity or NaN
SELECT pg_temp.err($$ SELECT rfm_summary(t, a, '2024-01-10')
    FROM (VALUES ('2024-01-01'::timestamptz, 1e308::float8), ('2024-01-01', 1e308), ('2024-01-02', 1)) v(t, a) $$);
