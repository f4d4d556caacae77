-- Managed segmentations: create/alter/drop, refresh, stable ids, transitions,
-- views, validation and quoting of names, privileges and row-level security.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS segment;
RESET client_min_messages;
\i sql/include/err.sql

-- three clusters A (0,0), B (10,0), C (0,10) of 1000, 800, 600 customers
CREATE TABLE ms_cust (id int PRIMARY KEY, x float8, y numeric, opted_out boolean DEFAULT false);
CREATE FUNCTION pg_temp.fill(drift float8, moved int) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ms_cust (id, x, y)
    SELECT i, cx + drift + ((i * 7919) % 101) / 100.0 - 0.5, cy - drift + ((i * 104729) % 97) / 96.0 - 0.5
    FROM (SELECT i,
                 CASE WHEN i <= 1000 - moved THEN 0 WHEN i <= 1000 THEN 0 WHEN i <= 1800 THEN 10 ELSE 0 END AS cx,
                 CASE WHEN i <= 1000 - moved THEN 0 WHEN i <= 1000 THEN 10 WHEN i <= 1800 THEN 0 ELSE 10 END AS cy
          FROM generate_series(1, 2400) i) g
    ORDER BY CASE WHEN moved > 0 THEN -i ELSE i END
$$;
SELECT pg_temp.fill(0, 0);

SELECT name, source, key_column, features, k, options, current_run
FROM segment.create_segmentation('ms', 'ms_cust', 'id', '{x,y}', 3, '{"seed": 7}');
SELECT run_id, customers, k, changed, appeared, vanished, round(silhouette::numeric, 3) AS silhouette,
       mean_centroid_shift FROM segment.refresh('ms');
SELECT segment_id, segment_name, customers, round(share::numeric, 4) AS share, description
FROM segment.segment_sizes WHERE segmentation = 'ms' ORDER BY segment_id;
-- remember which stable id each cluster got
CREATE TEMP TABLE ids1 AS
SELECT (SELECT segment_id FROM segment.current_segments WHERE segmentation = 'ms' AND customer_key = '1') AS a,
       (SELECT segment_id FROM segment.current_segments WHERE segmentation = 'ms' AND customer_key = '1001') AS b,
       (SELECT segment_id FROM segment.current_segments WHERE segmentation = 'ms' AND customer_key = '2001') AS c;

-- idempotent: the same data again gives the same ids and no change
SELECT run_id, customers, changed, appeared, vanished, mean_centroid_shift < 1e-9 AS no_shift
FROM segment.refresh('ms');

-- drift: centers move by 0.3, rows arrive in reverse order, and 300 customers
-- of A move to C, so C (900) is now bigger than A (700): the model's own
-- numbering changes, the stable ids must not
TRUNCATE ms_cust;
SELECT pg_temp.fill(0.3, 300);
SELECT run_id, customers, changed, appeared, vanished, mean_centroid_shift BETWEEN 0.01 AND 0.2 AS small_shift
FROM segment.refresh('ms');
SELECT (SELECT segment_id FROM segment.current_segments WHERE segmentation = 'ms' AND customer_key = '1') = a AS a_kept,
       (SELECT segment_id FROM segment.current_segments WHERE segmentation = 'ms' AND customer_key = '1001') = b AS b_kept,
       (SELECT segment_id FROM segment.current_segments WHERE segmentation = 'ms' AND customer_key = '2001') = c AS c_kept,
       (SELECT segment_id FROM segment.current_segments WHERE segmentation = 'ms' AND customer_key = '800') = c AS moved_to_c
FROM ids1;
-- the model's canonical order did change (largest first)
SELECT r.segment_ids <> (SELECT segment_ids FROM segment.runs WHERE run_id = 1) AS model_order_changed
FROM segment.runs r WHERE run_id = 3;
-- transition matrix of the last two runs: exactly the 300 movers off the diagonal
SELECT t.from_segment = i.a AND t.to_segment = i.c AS a_to_c, t.customers
FROM segment.transitions('ms') t, ids1 i WHERE t.from_segment <> t.to_segment;
SELECT sum(customers) FILTER (WHERE from_segment = to_segment) AS stayed,
       sum(customers) FILTER (WHERE from_segment <> to_segment) AS moved
FROM segment.transitions('ms', 1, 3);
-- since: the movers entered their segment with run 3, the others keep run 1's time
SELECT count(*) FILTER (WHERE h.since = r3.started_at) AS since_run3,
       count(*) FILTER (WHERE h.since = r1.started_at) AS since_run1
FROM segment.assignment_history h, segment.runs r1, segment.runs r3
WHERE h.run_id = 3 AND r1.run_id = 1 AND r3.run_id = 3;
-- assign_segment by name uses the current model and stable ids
SELECT segment.assign_segment('ms', ARRAY[0.3, 9.7]) = c AS new_point_in_c,
       segment.assign_segment('no such', ARRAY[0, 0]) AS unknown
FROM ids1;
SELECT provolatile FROM pg_proc WHERE oid = 'segment.assign_segment(text, float8[])'::regprocedure;

-- k grows: a segment appears with a fresh id; k shrinks: one vanishes
SELECT k FROM segment.alter_segmentation('ms', k => 4);
SELECT k, cardinality(appeared) AS appeared, vanished, customers FROM segment.refresh('ms');
SELECT k FROM segment.alter_segmentation('ms', k => 3);
SELECT k, appeared, cardinality(vanished) AS vanished FROM segment.refresh('ms');

-- exclude option: opted-out customers are neither fitted nor assigned
UPDATE ms_cust SET opted_out = true WHERE id % 10 = 0;
SELECT (segment.alter_segmentation('ms', options => '{"seed": 7, "exclude": "opted_out"}')).options;
SELECT customers FROM segment.refresh('ms');
SELECT count(*) AS opted_out_assigned FROM segment.current_segments
WHERE segmentation = 'ms' AND customer_key::int % 10 = 0;

-- validation and errors
SELECT pg_temp.err($$ SELECT segment.create_segmentation('ms', 'ms_cust', 'id', '{x,y}', 3) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'ms_cust', 'nope', '{x,y}', 3) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'ms_cust', 'id', '{x,opted_out}', 3) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'ms_cust', 'id', '{x,x}', 3) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'ms_cust', 'id', '{}', 3) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'ms_cust', 'id', '{x,y}', 0) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'ms_cust', 'id', '{x,y}', 3, '{"bogus": 1}') $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'ms_cust', 'id', '{x,y}', 3, '{"exclude": "x"}') $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('', 'ms_cust', 'id', '{x,y}', 3) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('e', 'pg_class_oid_index', 'oid', '{oid}', 3) $$);
SELECT pg_temp.err($$ SELECT segment.refresh('nope') $$);
SELECT pg_temp.err($$ SELECT segment.transitions('nope') $$);
SELECT pg_temp.err($$ SELECT segment.transitions('ms', 1, 999) $$);
SELECT pg_temp.err($$ SELECT segment.drop_segmentation('nope') $$);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.err($$ SELECT segment.refresh('ms') $$);
ROLLBACK;
-- a non-unique key
CREATE TABLE ms_dup (id int, x float8);
INSERT INTO ms_dup VALUES (1, 1), (1, 2), (2, 3);
SELECT name FROM segment.create_segmentation('dup', 'ms_dup', 'id', '{x}', 1);
SELECT pg_temp.err($$ SELECT segment.refresh('dup') $$);
SELECT segment.drop_segmentation('dup');

-- hostile names are rejected, or quoted when they really exist
CREATE TABLE victim (i int);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('h', 'ms_cust; DROP TABLE victim', 'id', '{x}', 2) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('h', 'ms_cust', 'id; DROP TABLE victim; --', '{x}', 2) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('h', 'ms_cust', 'id', ARRAY['x) FROM victim; --'], 2) $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('h', 'ms_cust', 'id', '{x}', 2, '{"exclude": "opted_out); DROP TABLE victim; --"}') $$);
CREATE TABLE "we'ird; $$tab""" ("key'); DROP TABLE victim; --" text, "$$x" float8, "a""b; --" float8, "no;" boolean);
INSERT INTO "we'ird; $$tab""" SELECT 'c' || i, i % 2 * 10, i % 3, i % 5 = 0 FROM generate_series(1, 60) i;
SELECT name, source, key_column, features FROM segment.create_segmentation(
    'h''; $$ --', '"we''ird; $$tab"""', 'key''); DROP TABLE victim; --', ARRAY['$$x', 'a"b; --'], 2,
    '{"exclude": "no;"}');
SELECT customers, k FROM segment.refresh('h''; $$ --');
SELECT segment_id, customers FROM segment.segment_sizes WHERE segmentation = 'h''; $$ --' ORDER BY 1;
SELECT count(*) AS victim_still_there FROM victim;
SELECT segment.drop_segmentation('h''; $$ --');

-- privileges: a non-superuser owns and refreshes its own segmentation,
-- reads its source with its own rights (row-level security applies),
-- and cannot see or refresh other roles' segmentations
CREATE ROLE regress_ms_owner NOLOGIN;
CREATE ROLE regress_ms_other NOLOGIN;
CREATE TABLE ms_private (id int, x float8, region text);
INSERT INTO ms_private SELECT i, i % 4 * 10 + (i % 7) * 0.01, CASE WHEN i <= 100 THEN 'eu' ELSE 'us' END
FROM generate_series(1, 400) i;
ALTER TABLE ms_private ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_eu ON ms_private TO regress_ms_owner USING (region = 'eu');
GRANT SELECT ON ms_private TO regress_ms_owner;
SET ROLE regress_ms_owner;
SELECT name, owner FROM segment.create_segmentation('own', 'ms_private', 'id', '{x}', 2);
SELECT customers FROM segment.refresh('own');        -- only the 100 rows RLS lets it see
SELECT count(*) FROM segment.segmentations;          -- its own only
SELECT count(DISTINCT run_id) FROM segment.current_segments;
SET ROLE regress_ms_other;
SELECT count(*) FROM segment.segmentations;
SELECT count(*) FROM segment.runs;
SELECT count(*) FROM segment.current_segments;
SELECT pg_temp.err($$ SELECT segment.refresh('own') $$);
SELECT pg_temp.err($$ SELECT segment.drop_segmentation('ms') $$);
SELECT pg_temp.err($$ SELECT segment.create_segmentation('steal', 'ms_private', 'id', '{x}', 2) $$);
SELECT pg_temp.err($$ INSERT INTO segment.segmentations (name, owner, source, key_column, features, k)
                      VALUES ('forged', 'regress_ms_owner', 'ms_private', 'id', '{x}', 2) $$);
RESET ROLE;
-- run ids cannot be forged: rows planted under a future run id would join
-- the run another role's refresh draws next
CREATE TABLE ms_other_src AS SELECT i AS id, (i % 3) * 10.0 AS x FROM generate_series(1, 60) i;
GRANT SELECT ON ms_other_src TO regress_ms_other;
SET ROLE regress_ms_other;
SELECT name FROM segment.create_segmentation('mine', 'ms_other_src', 'id', '{x}', 3);
SELECT customers FROM segment.refresh('mine');
SELECT pg_temp.err($$ INSERT INTO segment.runs (run_id, segmentation, started_at, k, model, segment_ids)
                      SELECT r.run_id + 1000, r.segmentation, now(), r.k, r.model, r.segment_ids
                      FROM segment.runs r $$);
SELECT pg_temp.err($$ UPDATE segment.runs SET run_id = run_id + 1000 $$);
SELECT segment.drop_segmentation('mine');
RESET ROLE;
DROP TABLE ms_other_src;
-- only the owner role refreshes: a superuser (say, a pg_cron job) would
-- otherwise run functions the owner put in the source as superuser
SELECT pg_temp.err($$ SELECT segment.refresh('own') $$);
REVOKE SELECT ON ms_private FROM regress_ms_owner;
SET ROLE regress_ms_owner;
SELECT pg_temp.err($$ SELECT segment.refresh('own') $$);
SELECT segment.drop_segmentation('own');
RESET ROLE;
SELECT count(*) AS security_definer FROM pg_proc WHERE pronamespace = 'segment'::regnamespace AND prosecdef;

-- drop removes runs, segments and history
SELECT segment.drop_segmentation('ms');
SELECT (SELECT count(*) FROM segment.segmentations) AS segmentations,
       (SELECT count(*) FROM segment.runs) AS runs,
       (SELECT count(*) FROM segment.run_segments) AS run_segments,
       (SELECT count(*) FROM segment.assignment_history) AS history;
DROP TABLE ms_cust, ms_dup, victim, "we'ird; $$tab""", ms_private;
DROP ROLE regress_ms_owner, regress_ms_other;

-- The helper functions refresh builds on, called directly.
SET search_path = segment, public;
CREATE TABLE ms_pts AS
SELECT i, x, y, ARRAY[x, y]::float8[] AS f
FROM generate_series(1, 300) i,
     LATERAL (SELECT (i % 3) * 10 + (i % 7) * 0.1 AS x, (i % 3) * -5.0 + (i % 5) * 0.1 AS y) v;
CREATE TABLE ms_models AS
SELECT kmeans_fit(f, 3, '{"seed": 1}') AS m,
       kmeans_fit(f, 2, '{"seed": 1}') AS m2 FROM ms_pts;
-- match_segments: a model matched with itself maps every segment to itself at distance 0;
-- matching 3 new segments to 2 old ones leaves one new segment unmatched (NULL)
SELECT new_segment, old_segment, round(distance::numeric, 9) AS distance
FROM ms_models, match_segments(m, m) ORDER BY 1;
SELECT count(*) AS new_segments, count(old_segment) AS matched
FROM ms_models, match_segments(m2, m);
-- sampled_silhouette equals kmeans_evaluate's exact silhouette on the same rows
SELECT abs(sampled_silhouette(m, (SELECT array_agg(f ORDER BY i) FROM ms_pts))
           - (SELECT (kmeans_evaluate(f, m)->>'silhouette')::float8 FROM ms_pts)) < 1e-12 AS same_silhouette
FROM ms_models;
SELECT sampled_silhouette(m, '{}') IS NULL AS empty_sample_is_null FROM ms_models;
SELECT pg_temp.err($$ SELECT sampled_silhouette(m, ARRAY[[1.0, 2.0, 3.0]]) FROM ms_models $$);
-- segmentation_validate: the checks create/alter/refresh run
SELECT segmentation_validate('ms_pts', 'i', ARRAY['x', 'y'], 3, '{}') IS NOT NULL AS valid;
SELECT pg_temp.err($$ SELECT segmentation_validate('ms_pts', 'i', ARRAY['x', 'y'], 0, '{}') $$);
SELECT pg_temp.err($$ SELECT segmentation_validate('ms_pts', 'i', ARRAY['f'], 3, '{}') $$);
SELECT pg_temp.err($$ SELECT segmentation_validate('ms_pts', 'i; DROP TABLE ms_pts', ARRAY['x', 'y'], 3, '{}') $$);
SELECT pg_temp.err($$ SELECT segmentation_validate('ms_pts', 'i', ARRAY['x', 'y'], 3, NULL) $$);
-- segment_model_jsonb is the function behind the ::jsonb cast
SELECT segment_model_jsonb(m) = m::jsonb AS same_as_cast FROM ms_models;
DROP TABLE ms_pts, ms_models;
