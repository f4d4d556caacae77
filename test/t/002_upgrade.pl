# The upgrade path (STYLE 3.7): released scripts are unchanged; a fresh install of the default version and
# an install of 1.0 updated with ALTER EXTENSION have the same catalog
# fingerprint and the same schema dump; user objects built on 1.0 (a view,
# a materialized view, a SQL function using the aggregates and window
# functions, a stored model) keep working across the update.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA;

# released scripts never change (checksums of the released files)
my %released = ('segment--1.0.sql' => '14bb6fa3cc81d73bae99b65d95b751ea8b3fe99473f79fba8f1a23dd624a9481',
	'segment--1.0--1.1.sql' => '01892aac655d40c5f74e3f3957ed6bcf5c2cc79da76ce632e39ac2bb79ee2237');
my $srcdir = $ENV{SEGMENT_SRCDIR} // '.';
for my $script (sort keys %released)
{
	is(Digest::SHA->new(256)->addfile("$srcdir/$script")->hexdigest, $released{$script},
		"$script is unchanged since its release");
}

my $node = segment_node('upgrade');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('fresh', 'CREATE EXTENSION segment');
$node->safe_psql('upgraded', q{CREATE EXTENSION segment VERSION '1.0'});

# user objects on 1.0
$node->safe_psql('upgraded', q{
	CREATE TABLE orders AS
	SELECT i % 200 AS customer, DATE '2024-01-01' + (i % 97) AS day, (i % 13) * 7.5 + 1 AS amount
	FROM generate_series(1, 4000) i;
	CREATE VIEW rfm AS
	SELECT customer, (segment.rfm_summary(day, amount, DATE '2024-06-01')).*
	FROM orders GROUP BY customer;
	CREATE VIEW scored AS
	SELECT customer, segment.rfm_score(recency_days, 5, false) OVER () AS r,
	       segment.rfm_score(frequency, 5) OVER () AS f,
	       segment.rfm_score(monetary, 5) OVER () AS m
	FROM rfm;
	CREATE MATERIALIZED VIEW clusters AS
	SELECT customer, segment.kmeans(ARRAY[recency_days, frequency, monetary]::float8[], 3, '{"seed": 7}') OVER () AS seg
	FROM rfm;
	CREATE FUNCTION breaks() RETURNS float8[] LANGUAGE sql
	AS $$ SELECT segment.quantile_breaks(monetary::float8, 4) FROM rfm $$;
	CREATE TABLE models AS
	SELECT segment.kmeans_fit(ARRAY[recency_days, frequency, monetary]::float8[], 3, '{"seed": 7}') AS m FROM rfm;
});
my $objects = q{
	SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
	    SELECT format('%s %s %s %s', customer, r, f, m) AS x FROM scored
	    UNION ALL SELECT format('c %s %s', customer, seg) FROM clusters
	    UNION ALL SELECT format('b %s', breaks())
	    UNION ALL SELECT format('a %s %s', customer, segment.assign_segment(m, ARRAY[recency_days, frequency, monetary]::float8[]))
	    FROM rfm, models) q};
my $before = $node->safe_psql('upgraded', $objects);
my $deps_before = $node->safe_psql('upgraded',
	q{SELECT count(*) FROM pg_depend WHERE refclassid = 'pg_proc'::regclass
	  AND refobjid IN (SELECT objid FROM pg_depend WHERE deptype = 'e'
	                   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment'))
	  AND objid NOT IN (SELECT objid FROM pg_depend WHERE deptype = 'e')});

$node->safe_psql('upgraded', 'ALTER EXTENSION segment UPDATE');
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'segment'}),
	$node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'segment'}),
	'updated to the default version');
isnt($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'segment'}),
	'1.0', 'the default version is past 1.0');

# the dependent objects survive and give the same answers
$node->safe_psql('upgraded', 'REFRESH MATERIALIZED VIEW clusters');
is($node->safe_psql('upgraded', $objects), $before, 'views, functions and stored models built on 1.0 give the same results after the update');
is($node->safe_psql('upgraded',
		q{SELECT count(*) FROM pg_depend WHERE refclassid = 'pg_proc'::regclass
		  AND refobjid IN (SELECT objid FROM pg_depend WHERE deptype = 'e'
		                   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment'))
		  AND objid NOT IN (SELECT objid FROM pg_depend WHERE deptype = 'e')}),
	$deps_before, 'pg_depend entries of user objects on extension functions intact');

# catalog fingerprint of every member object
my $fingerprint = q{
	WITH members AS (
	    SELECT classid, objid, objsubid FROM pg_depend
	    WHERE deptype = 'e' AND refclassid = 'pg_extension'::regclass
	      AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment'))
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
	    SELECT pg_describe_object(m.classid, m.objid, m.objsubid)
	           || coalesce(' | ' || obj_description(m.objid, c.relname::name), '') AS line
	    FROM members m JOIN pg_class c ON c.oid = m.classid
	    UNION ALL
	    SELECT format('fn %s(%s) %s %s %s %s %s %s %s %s %s', p.proname, pg_get_function_identity_arguments(p.oid),
	                  p.prorettype::regtype, p.provolatile, p.proparallel, p.proisstrict, p.prosecdef,
	                  p.proconfig, p.prosrc, regexp_replace(coalesce(p.probin, ''), '^.*/', ''), p.proacl)
	    FROM members m JOIN pg_proc p ON p.oid = m.objid WHERE m.classid = 'pg_proc'::regclass
	    UNION ALL
	    SELECT format('agg %s %s %s %s %s %s %s %s %s %s %s', a.aggfnoid::regprocedure, a.aggtransfn::text,
	                  a.aggfinalfn::text, a.aggcombinefn::text, a.aggserialfn::text, a.aggdeserialfn::text,
	                  a.aggmtransfn::text, a.aggfinalmodify, a.aggtranstype::regtype, a.aggtransspace, a.agginitval)
	    FROM members m JOIN pg_aggregate a ON a.aggfnoid = m.objid WHERE m.classid = 'pg_proc'::regclass
	    UNION ALL
	    SELECT format('rel %s %s', c.oid::regclass, c.relacl)
	    FROM members m JOIN pg_class c ON c.oid = m.objid WHERE m.classid = 'pg_class'::regclass
	    UNION ALL
	    SELECT format('type %s %s', t.oid::regtype, t.typacl)
	    FROM members m JOIN pg_type t ON t.oid = m.objid WHERE m.classid = 'pg_type'::regclass
	    UNION ALL
	    SELECT format('schema %s', n.nspacl) FROM pg_namespace n WHERE n.nspname = 'segment') q};
my $fresh = $node->safe_psql('fresh', $fingerprint);
my $upgraded = $node->safe_psql('upgraded', $fingerprint);
ok(length($fresh) > 1000, 'fingerprint covers the member objects');
is($upgraded, $fresh, 'fresh install and updated install have the same catalog fingerprint');

# schema dumps agree (only the CREATE EXTENSION version may differ): a
# database updated from 1.0 without user objects against the fresh one
$node->safe_psql('postgres', 'CREATE DATABASE upgraded_plain');
$node->safe_psql('upgraded_plain', q{CREATE EXTENSION segment VERSION '1.0'});
$node->safe_psql('upgraded_plain', 'ALTER EXTENSION segment UPDATE');
my @dumps;
for my $db ('fresh', 'upgraded_plain')
{
	my ($stdout, $stderr);
	IPC::Run::run([ 'pg_dump', '--schema-only', '-d', $node->connstr($db) ],
		'>', \$stdout, '2>', \$stderr)
	  or die "pg_dump $db failed: $stderr";
	$stdout =~ s/^(--|\\restrict|\\unrestrict).*\n//mg;
	$stdout =~ s/(CREATE EXTENSION IF NOT EXISTS segment[^;]*)VERSION '[^']*'/$1/g;
	push @dumps, $stdout;
}
like($dumps[0], qr/CREATE EXTENSION IF NOT EXISTS segment/, 'the dump carries the extension');
is($dumps[1], $dumps[0], 'pg_dump --schema-only of a fresh and an updated database is the same');

my $paths = $node->safe_psql('fresh',
	q{SELECT string_agg(source || '>' || target, ' ' ORDER BY source, target)
	  FROM pg_extension_update_paths('segment') WHERE path IS NOT NULL});
like($paths, qr/1\.0>1\.1/, 'update path 1.0 -> 1.1 exists');
like($paths, qr/1\.0>1\.2/, 'update path 1.0 -> 1.2 exists');
like($paths, qr/1\.1>1\.2/, 'update path 1.1 -> 1.2 exists');

done_testing();
