-- The upgrade path: the 1.0 SQL against the current shared library, then
-- ALTER EXTENSION ... UPDATE to the default version.  Runs last (it drops
-- and recreates the extension).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS segment CASCADE;
CREATE EXTENSION segment VERSION '1.0';
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'segment';

-- the 1.0 surface works against the new .so (hand-checkable values)
CREATE TEMP TABLE old_pts AS
SELECT i, ARRAY[(i % 2) * 10 + (i % 3) * 0.1, (i % 2) * 10]::float8[] AS f
FROM generate_series(1, 12) i;
CREATE TEMP TABLE old_model AS
SELECT segment.kmeans_fit(f, 2, '{"seed": 1, "scale": "none"}') AS m FROM old_pts;
SELECT segment.assign_segment(m, ARRAY[10.1, 10]) <> segment.assign_segment(m, ARRAY[0, 0]) AS separated,
       round(((m::jsonb)->>'inertia')::numeric, 6) AS inertia
FROM old_model;
SELECT segment.quantile_breaks(i::float8, 4) FROM generate_series(1, 8) i;
SELECT segment.rfm_segment(5, 5, 5);

-- what 1.1 and 1.2 add (and nothing removed): member objects before and after
CREATE TEMP TABLE members_1_0 AS
SELECT pg_describe_object(classid, objid, objsubid) AS member
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment');
ALTER EXTENSION segment UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'segment';
SELECT CASE WHEN b.member IS NULL THEN 'removed' ELSE 'added' END AS change,
       coalesce(a.member, b.member) AS member
FROM members_1_0 a
FULL JOIN (SELECT pg_describe_object(classid, objid, objsubid) AS member
           FROM pg_depend
           WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
             AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment')) b
  ON a.member = b.member
WHERE a.member IS NULL OR b.member IS NULL
ORDER BY 1, 2;

-- a model fitted before the update still assigns after it
SELECT segment.assign_segment(m, ARRAY[10.1, 10]) <> segment.assign_segment(m, ARRAY[0, 0]) AS separated
FROM old_model;
SELECT segment.quantile_breaks(i::float8, 4) FROM generate_series(1, 8) i;
SELECT extversion, (SELECT count(*) FROM pg_extension_update_paths('segment')
                    WHERE source = '1.0' AND target IN ('1.1', '1.2') AND path IS NOT NULL) AS paths
FROM pg_extension WHERE extname = 'segment';
