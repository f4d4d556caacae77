# Segment quality (issue 4) on generated data (no data set needed):
#  - the sampled silhouette of 200,000 rows is within 0.01 of the exact value,
#    computed once with scikit-learn by test/quality/blobs_silhouette.py
#    (same rows; its output is recorded below);
#  - kmeans_sweep recommends 5 on data with 5 true clusters;
#  - min_segment_share on data with one tiny cluster gives k - 1 segments,
#    all above the floor, and records why;
#  - a version 1 binary model (send/recv) is still read.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;
use JSON::PP;

# printed by /usr/bin/python3 test/quality/blobs_silhouette.py (scikit-learn 1.2)
my $BLOBS_EXACT_SILHOUETTE = 0.5004627911360627;

my $node = segment_node('quality_gen');
my $dir = $node->basedir;

# the rows of test/quality/blobs_silhouette.py
$node->safe_psql('postgres', q{
	CREATE TABLE blobs AS
	SELECT i, ARRAY[c1 + ((i * 7919) % 10007)::float8 / 10007 * 8 - 4,
	                c2 + ((i * 104729) % 10007)::float8 / 10007 * 8 - 4,
	                c3 + ((i * 1299709) % 10007)::float8 / 10007 * 8 - 4] AS f
	FROM generate_series(0::bigint, 199999) i,
	     LATERAL (SELECT CASE WHEN i % 5 IN (1, 4) THEN 10 ELSE 0 END::float8 AS c1,
	                     CASE WHEN i % 5 IN (2, 4) THEN 10 ELSE 0 END::float8 AS c2,
	                     CASE WHEN i % 5 IN (3, 4) THEN 10 ELSE 0 END::float8 AS c3) c;
	CREATE TABLE blobs_model AS
	SELECT segment.kmeans_fit(f, 5, '{"scale": "none", "init": [[0,0,0],[10,0,0],[0,10,0],[0,0,10],[10,10,10]]}') AS m FROM blobs;
	ANALYZE blobs;
});

my $e = decode_json($node->safe_psql('postgres', q{
	SELECT segment.kmeans_evaluate(f, m) FROM blobs, blobs_model}));
is(join('/', @{ $e->{sizes} }), '40000/40000/40000/40000/40000', 'blobs: labels are the 5 true blobs');
ok(!$e->{silhouette_exact} && $e->{silhouette_sample_size} == 10000,
	"blobs: silhouette on a stratified sample of $e->{silhouette_sample_size} rows");
cmp_ok(abs($e->{silhouette} - $BLOBS_EXACT_SILHOUETTE), '<=', 0.01,
	"blobs: sampled silhouette $e->{silhouette} within 0.01 of the exact $BLOBS_EXACT_SILHOUETTE");

# the same result in parallel (partial states merged: bottom-k samples are exact to merge)
my $serial = $node->safe_psql('postgres', q{
	SELECT segment.kmeans_evaluate(f, m) FROM blobs, blobs_model});
my $par = $node->safe_psql('postgres', q{
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
	SET max_parallel_workers_per_gather = 2;
	SELECT segment.kmeans_evaluate(f, m) FROM blobs, blobs_model});
# sums may differ in the last bits (addition order); the samples are identical
my ($ps, $ss) = (decode_json($par), decode_json($serial));
$par = ($ps->{silhouette} == $ss->{silhouette} && $ps->{davies_bouldin} == $ss->{davies_bouldin}
	  && abs($ps->{inertia} / $ss->{inertia} - 1) < 1e-9
	  && abs($ps->{calinski_harabasz} / $ss->{calinski_harabasz} - 1) < 1e-9) ? 't' : "differs: $par vs $serial";
is($par, 't', 'blobs: parallel evaluation equals the serial one');

# 5 true clusters: the sweep recommends 5 (on a 28,572-row slice, every k 2..8)
my $sw = decode_json($node->safe_psql('postgres', q{
	SELECT segment.kmeans_sweep(f, 2, 8) FROM blobs WHERE i % 7 = 0}));
is($sw->{recommended_k}, 5, "blobs: kmeans_sweep recommends 5 ($sw->{rule})");

# one tiny cluster (0.5% of rows): min_segment_share 0.02 dissolves it
$node->safe_psql('postgres', q{
	CREATE TABLE tiny AS
	SELECT f FROM blobs WHERE i % 5 < 4 AND i < 40000
	UNION ALL
	SELECT ARRAY[40 + (i % 7) / 10.0, 40 + (i % 3) / 10.0, 40]::float8[] FROM generate_series(1, 160) i;
});
my $plain = decode_json($node->safe_psql('postgres', q{
	SELECT m::jsonb FROM (SELECT segment.kmeans_fit(f, 5, '{"scale": "none"}') AS m FROM tiny) s}));
is($plain->{sizes}[4], 160, 'tiny: without a floor k = 5 isolates the 160-row cluster');
my $fl = decode_json($node->safe_psql('postgres', q{
	SELECT m::jsonb FROM (SELECT segment.kmeans_fit(f, 5, '{"scale": "none", "min_segment_share": 0.02}') AS m FROM tiny) s}));
is($fl->{k}, 4, 'tiny: min_segment_share 0.02 leaves k - 1 = 4 segments');
is($fl->{requested_k}, 5, 'tiny: the model records the requested k');
my $n = 0;
$n += $_ for @{ $fl->{sizes} };
ok(!(grep { $_ < 0.02 * $n } @{ $fl->{sizes} }), 'tiny: every segment above the floor: ' . join('/', @{ $fl->{sizes} }));
like($fl->{reduction}, qr/k reduced from 5 to 4/, "tiny: reduction recorded ($fl->{reduction})");
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT segment.kmeans_fit(f, 5, '{"scale": "none"}') FROM tiny});
like($stderr, qr/NOTICE:  1 of 5 segments hold less than 2% of the rows/, 'tiny: NOTICE for a segment under 2%');

# version 1 and 2 binary models: the version 3 bytes minus the trailing fields
# (version 3: mode, sample size, no categorical part, quintiles flag and
# d x 4 breaks = 14 + 32 d bytes; version 2: requested_k, min share, empty
# note = 16 bytes), with their version byte
my $v3 = pack('H*', $node->safe_psql('postgres',
	q{SELECT encode(segment.segment_model_send(m), 'hex') FROM blobs_model}));
is(ord(substr($v3, 0, 1)), 3, 'models are written as version 3');
my $d = $node->safe_psql('postgres', q{SELECT (m::jsonb)->>'d' FROM blobs_model});
my $v3_only = 14 + 32 * $d;
my $v2 = chr(2) . substr($v3, 1, length($v3) - 1 - $v3_only);
my $v1 = chr(1) . substr($v3, 1, length($v3) - 1 - $v3_only - 16);
my $data2 = "PGCOPY\n\377\r\n\0" . pack('NN', 0, 0)
  . pack('n', 1) . pack('N', length($v2)) . $v2 . pack('n', 0xFFFF);
open my $fh2, '>:raw', "$dir/v2.bin" or die $!;
print $fh2 $data2;
close $fh2;
$node->safe_psql('postgres', "CREATE TABLE v2 (m segment.segment_model); COPY v2 FROM '$dir/v2.bin' WITH (FORMAT binary)");
is($node->safe_psql('postgres', q{SELECT a.m::jsonb = b.m::jsonb - 'quintiles' FROM v2 a, blobs_model b}), 't',
	'a version 2 binary model (1.0) reads back as the same model (mode memory)');
my $data = "PGCOPY\n\377\r\n\0" . pack('NN', 0, 0)
  . pack('n', 1) . pack('N', length($v1)) . $v1 . pack('n', 0xFFFF);
open my $fh, '>:raw', "$dir/v1.bin" or die $!;
print $fh $data;
close $fh;
$node->safe_psql('postgres', "CREATE TABLE v1 (m segment.segment_model); COPY v1 FROM '$dir/v1.bin' WITH (FORMAT binary)");
is($node->safe_psql('postgres', q{
	SELECT (a.m::jsonb - 'version') = (b.m::jsonb - 'version' - 'quintiles') AND (a.m::jsonb)->>'requested_k' = '5'
	FROM v1 a, blobs_model b}), 't', 'a version 1 binary model reads back as the same model (requested_k = k)');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM blobs, v1, blobs_model b
	WHERE i < 1000 AND segment.assign_segment(v1.m, f) = segment.assign_segment(b.m, f)}),
	'1000', 'a version 1 model assigns like the version 2 one');

done_testing();
