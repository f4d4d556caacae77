# kmeans_fit on generated Gaussian blobs with known centers (no data sets
# needed): centers recovered within 0.05; same seed => identical model in
# any row order; assign_segment gives every training row its segment and
# the window form equals fit-then-assign; a parallel plan with 2 launched
# workers gives the serial model; the memory limit refuses with 54000;
# statement_timeout cancels a long fit.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

my $node = segment_node('kmeans_blobs', conf => "max_worker_processes = 8\nmax_parallel_workers = 8\n");

# 5 centers in 3-D; noise: sum of 4 hashed uniforms (approximately normal, sd ~0.29)
$node->safe_psql('postgres', q{
	CREATE FUNCTION u(i bigint, salt bigint) RETURNS float8 LANGUAGE sql IMMUTABLE
	RETURN ((hashint8(i * 1000003 + salt)::bigint + 2147483648) / 4294967296.0) - 0.5;
	CREATE TABLE centers (c int, x float8, y float8, z float8);
	INSERT INTO centers VALUES (0, 0, 0, 0), (1, 6, 0, 0), (2, 0, 6, 0), (3, 0, 0, 6), (4, 6, 6, 6);
	CREATE TABLE blobs AS
	SELECT i, c.c AS truth,
	       ARRAY[c.x + u(i,1) + u(i,2) + u(i,3) + u(i,4),
	             c.y + u(i,5) + u(i,6) + u(i,7) + u(i,8),
	             c.z + u(i,9) + u(i,10) + u(i,11) + u(i,12)] AS f
	FROM generate_series(1, 200000) i JOIN centers c ON c.c = (i * 7) % 5;
	CREATE TABLE blobs_shuffled AS SELECT * FROM blobs ORDER BY hashint8(i);
	ANALYZE blobs; ANALYZE blobs_shuffled;
	SET max_parallel_workers_per_gather = 0;
	CREATE TABLE model AS SELECT segment.kmeans_fit(f, 5, '{"scale": "none", "seed": 42}') AS m FROM blobs;
});

my $worst = $node->safe_psql('postgres', q{
	SELECT max(best) FROM (
		SELECT ce.c, min(sqrt((mc.centroid[1] - ce.x)^2 + (mc.centroid[2] - ce.y)^2 + (mc.centroid[3] - ce.z)^2)) AS best
		FROM centers ce, model, segment.model_centroids(m) mc GROUP BY ce.c) s});
cmp_ok($worst, '<', 0.05, "every known center recovered within 0.05 (worst $worst)");

is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT (truth, segment.assign_segment(m, f))) FROM blobs, model}),
	'5', 'segments match the generating blobs one to one');

is($node->safe_psql('postgres', q{
	SET max_parallel_workers_per_gather = 0;
	SELECT (SELECT m::text FROM model) = (SELECT segment.kmeans_fit(f, 5, '{"scale": "none", "seed": 42}')::text FROM blobs_shuffled)}),
	't', 'same data and seed, other row order: identical model');
is($node->safe_psql('postgres', q{
	SELECT (SELECT m::text FROM model) = (SELECT segment.kmeans_fit(f, 5, '{"scale": "none", "seed": 42}')::text FROM blobs)}),
	't', 'same seed twice: identical model');

# assign_segment on every training row reproduces the fitted sizes
is($node->safe_psql('postgres', q{
	WITH a AS (SELECT segment.assign_segment(m, f) AS seg, count(*) AS n FROM blobs, model GROUP BY 1)
	SELECT count(*) FILTER (WHERE a.n = ((SELECT m FROM model)::jsonb->'sizes'->>(a.seg - 1))::bigint) FROM a}),
	'5', 'assign_segment reproduces every fitted segment size');

# window form equals fit-then-assign, row by row
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
		SELECT f, segment.kmeans(f, 5, '{"scale": "none", "seed": 42}') OVER () AS w FROM blobs) s, model
	WHERE s.w <> segment.assign_segment(m, s.f)}),
	'0', 'window kmeans equals kmeans_fit + assign_segment for all 200000 rows');

# forced parallel plan, 2 workers launched, same model
my $plan = $node->safe_psql('postgres', q{
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
	SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off;
	EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT segment.kmeans_fit(f, 5, '{"scale": "none", "seed": 42}') FROM blobs_shuffled});
like($plan, qr/Workers Launched: 2/, 'parallel plan launched 2 workers');
like($plan, qr/Partial Aggregate/, 'parallel plan uses partial aggregation');
is($node->safe_psql('postgres', q{
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
	SET max_parallel_workers_per_gather = 2; SET parallel_leader_participation = off;
	SELECT (SELECT m::text FROM model) = segment.kmeans_fit(f, 5, '{"scale": "none", "seed": 42}')::text FROM blobs_shuffled}),
	't', 'parallel fit equals serial fit');
is($node->safe_psql('postgres', q{
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
	SET max_parallel_workers_per_gather = 2;
	SELECT segment.kmeans_fit(f, 5) IS NULL FROM blobs WHERE i < 0}),
	't', 'parallel fit over no rows is NULL');

# memory budget: refused up front with 54000
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET segment.kmeans_memory_limit = '1MB';
	SELECT segment.kmeans_fit(f, 5) FROM blobs}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/54000.*segment\.kmeans_memory_limit/s, 'over the memory limit: SQLSTATE 54000');

# cancellation: a long fit stops at statement_timeout
($ret, $out, $err) = $node->psql('postgres', q{
	SET statement_timeout = '300ms';
	SELECT segment.kmeans_fit(f || f || f, 50, '{"n_init": 50, "tol": 0}') FROM blobs});
like($err, qr/canceling statement due to statement timeout/, 'a long fit is cancelled by statement_timeout');

done_testing();
