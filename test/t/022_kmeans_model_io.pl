# segment_model I/O: binary COPY (send/recv) round-trips exactly; corrupt
# binary input is refused with 22P03, never a crash; pg_dump/pg_restore of a
# table of models (in a non-public schema, restored with an empty
# search_path) gives the same models, still usable by assign_segment.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;
use PostgreSQL::Test::Utils;

my $node = segment_node('kmeans_io');
my $dir = $node->basedir;

$node->safe_psql('postgres', q{
	CREATE SCHEMA crm;
	CREATE TABLE crm.models (name text, m segment.segment_model);
	INSERT INTO crm.models
	SELECT 'rfm', segment.kmeans_fit(ARRAY[i % 17, (i * 7) % 13, exp((i % 5)::float8)]::float8[], 4,
	                                  '{"transform": {"money": "log1p"}, "feature_names": ["recency", "frequency", "money"], "seed": 3}')
	FROM generate_series(1, 1000) i;
	INSERT INTO crm.models
	SELECT 'plain', segment.kmeans_fit(ARRAY[sin(i), cos(i * 0.3)]::float8[], 3, '{"scale": "robust"}')
	FROM generate_series(1, 500) i;
	CREATE TABLE crm.customers AS SELECT i, ARRAY[i % 17, (i * 7) % 13, exp((i % 5)::float8)]::float8[] AS f
	FROM generate_series(1, 1000) i;
});

# binary COPY out and in again
$node->safe_psql('postgres', qq{
	COPY crm.models TO '$dir/models.bin' WITH (FORMAT binary);
	CREATE TABLE crm.models2 (LIKE crm.models);
	COPY crm.models2 FROM '$dir/models.bin' WITH (FORMAT binary);
});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM crm.models a JOIN crm.models2 b USING (name) WHERE a.m::text = b.m::text}),
	'2', 'binary COPY round-trips both models exactly');

# a binary COPY file holding one segment_model field with the given bytes
sub copy_file_with
{
	my ($bytes) = @_;
	my $data = "PGCOPY\n\377\r\n\0" . pack('NN', 0, 0)
	  . pack('n', 1) . pack('N', length($bytes)) . $bytes . pack('n', 0xFFFF);
	open my $fh, '>:raw', "$dir/bad.bin" or die $!;
	print $fh $data;
	close $fh;
}

my $good = pack('H*', $node->safe_psql('postgres',
	q{SELECT encode(segment.segment_model_send(m), 'hex') FROM crm.models WHERE name = 'plain'}));
$node->safe_psql('postgres', 'CREATE TABLE crm.one (m segment.segment_model)');
copy_file_with($good);
$node->safe_psql('postgres', "COPY crm.one FROM '$dir/bad.bin' WITH (FORMAT binary)");
is($node->safe_psql('postgres', q{SELECT count(*) FROM crm.one o, crm.models m WHERE m.name = 'plain' AND o.m::text = m.m::text}),
	'1', 'hand-built binary COPY of the send bytes reads back the same model');

my %corrupt = (
	'truncated' => substr($good, 0, length($good) - 5),
	'empty' => '',
	'wrong version' => "\x09" . substr($good, 1),
	'trailing bytes' => $good . "\0",
	'k of zero' => substr($good, 0, 1) . pack('N', 0) . substr($good, 5),
	'huge d' => substr($good, 0, 5) . pack('N', 0x7fffffff) . substr($good, 9),
	'NaN inertia' => substr($good, 0, 25) . pack('H*', '7ff8000000000000') . substr($good, 33),
);
for my $case (sort keys %corrupt)
{
	copy_file_with($corrupt{$case});
	my ($ret, $out, $err) = $node->psql('postgres',
		"COPY crm.one FROM '$dir/bad.bin' WITH (FORMAT binary)",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:\s+22P03/, "corrupt binary model ($case) refused with 22P03");
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up after corrupt input');

# pg_dump / pg_restore into a fresh database
my $dump = "$dir/dump.custom";
command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
my $before = $node->safe_psql('postgres', q{SELECT string_agg(name || '=' || m::text, ';' ORDER BY name) FROM crm.models});
my $after = $node->safe_psql('restored', q{SELECT string_agg(name || '=' || m::text, ';' ORDER BY name) FROM crm.models});
is($after, $before, 'models survive pg_dump/pg_restore bit for bit');
is($node->safe_psql('restored', q{
	SET search_path = '';
	SELECT string_agg(seg || ':' || n, ',' ORDER BY seg) FROM (
		SELECT segment.assign_segment(m.m, c.f) AS seg, count(*) AS n
		FROM crm.models m, crm.customers c WHERE m.name = 'rfm' GROUP BY 1) s}),
	$node->safe_psql('postgres', q{SELECT string_agg((seg)::text || ':' || size, ',' ORDER BY seg)
		FROM (SELECT c.segment AS seg, c.size FROM crm.models m, segment.model_centroids(m.m) c WHERE m.name = 'rfm') s}),
	'restored model assigns the training customers to the fitted sizes');

done_testing();
