-- Security: the API works for an ordinary role, and same-name objects
-- planted earlier in search_path do not capture calls.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;

CREATE ROLE regress_segment_analyst NOLOGIN NOSUPERUSER;
CREATE SCHEMA planted;
GRANT USAGE ON SCHEMA planted TO regress_segment_analyst;
-- look-alikes with other argument types, first in search_path
CREATE FUNCTION planted.rfm_segment(r text, f int, m int) RETURNS text
    LANGUAGE sql AS $$ SELECT 'captured' $$;
CREATE FUNCTION planted.score(value numeric, breaks float8[], higher_is_better boolean) RETURNS int
    LANGUAGE sql AS $$ SELECT -1 $$;

SET ROLE regress_segment_analyst;
SET search_path = planted, segment, public;
SELECT rfm_segment(5, 5, 5) AS segment, score(3::float8, '{1,2,4}') AS score;
SELECT (rfm_summary(t, 10.0, '2024-01-10')).frequency
FROM (VALUES ('2024-01-01'::timestamptz)) x(t);
SELECT v, rfm_score(v) OVER () AS score FROM generate_series(1, 2) v ORDER BY v;
SELECT quantile_breaks(v, 2) FROM generate_series(1, 4) v;
RESET ROLE;
RESET search_path;

DROP SCHEMA planted CASCADE;
DROP ROLE regress_segment_analyst;
