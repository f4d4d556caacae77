-- Catalog lint: every query below must return zero rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;

CREATE TEMP VIEW members AS
SELECT classid, objid, pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment')
  AND deptype = 'e';

-- functions and aggregates not labelled PARALLEL SAFE
-- Allow-list: the managed-segmentation functions that write the catalog
-- tables (and take advisory locks) must be PARALLEL UNSAFE.
SELECT m.object FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
WHERE p.proparallel <> 's'
  AND NOT (p.proparallel = 'u' AND p.proname IN
           ('create_segmentation', 'alter_segmentation', 'drop_segmentation', 'refresh',
            'current_run_id',
            -- kmeans_fit_scan runs its passes through SPI (possibly as parallel plans)
            'kmeans_fit_scan'))
ORDER BY 1;

-- SECURITY DEFINER functions
SELECT m.object FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
WHERE p.prosecdef ORDER BY 1;

-- members without a comment (functions, aggregates, types, tables, views)
SELECT m.object FROM members m
WHERE m.classid IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_class'::regclass)
  AND obj_description(m.objid, (SELECT relname FROM pg_class WHERE oid = m.classid)) IS NULL
  -- array types and composite row types of tables come with their parent
  AND NOT (m.classid = 'pg_type'::regclass AND EXISTS (
      SELECT 1 FROM pg_type t WHERE t.oid = m.objid AND (t.typelem <> 0 AND t.typlen = -1 AND t.typcategory = 'A')))
ORDER BY 1;

-- aggregates without a combine function, and internal-state aggregates
-- without serialize/deserialize functions
SELECT m.object FROM members m JOIN pg_aggregate a ON m.classid = 'pg_proc'::regclass AND a.aggfnoid = m.objid
WHERE a.aggcombinefn = 0
   OR (a.aggtranstype = 'internal'::regtype AND (a.aggserialfn = 0 OR a.aggdeserialfn = 0))
ORDER BY 1;

-- combine functions on internal states declared STRICT (rejected at run time)
SELECT m.object FROM members m JOIN pg_aggregate a ON m.classid = 'pg_proc'::regclass AND a.aggfnoid = m.objid
JOIN pg_proc c ON c.oid = a.aggcombinefn
WHERE a.aggtranstype = 'internal'::regtype AND c.proisstrict ORDER BY 1;

-- C functions whose symbol does not follow the segment_ prefix
SELECT m.object FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND p.prosrc NOT LIKE 'segment\_%'
ORDER BY 1;

-- members outside the segment schema
SELECT m.object FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
WHERE p.pronamespace <> 'segment'::regnamespace ORDER BY 1;
