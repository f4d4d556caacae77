# pg_dump / pg_restore of a database with managed segmentations keeps the
# definitions, the models, the run history and the assignments (the
# catalog tables are registered with pg_extension_config_dump), and a
# refresh after the restore continues the history with stable ids.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = segment_node('managed_dump');
$node->safe_psql('postgres', q{
	CREATE SCHEMA crm;
	CREATE TABLE crm.cust AS
	SELECT i AS id, (i % 3) * 10 + (i % 7) * 0.1 AS x, (i % 3) * 5 + (i % 5) * 0.1 AS y, i % 50 = 0 AS opted_out
	FROM generate_series(1, 3000) i;
	SELECT segment.create_segmentation('crm', 'crm.cust', 'id', '{x,y}', 3,
	       '{"seed": 3, "exclude": "opted_out", "labels": {"1": "big spenders"}}');
	SELECT segment.refresh('crm');
	UPDATE crm.cust SET x = x + 10 WHERE id % 3 = 0 AND id <= 300;
	SELECT segment.refresh('crm');
});

my $fingerprint = q{
	SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
	    SELECT format('%s %s %s %s %s %s %s', name, source, key_column, features, k, options, current_run) AS x
	    FROM segment.segmentations
	    UNION ALL
	    SELECT format('%s %s %s %s %s %s %s', run_id, segmentation, previous_run, customers, changed, model::text, segment_ids)
	    FROM segment.runs
	    UNION ALL
	    SELECT format('%s %s %s %s', run_id, segment_id, customers, description) FROM segment.run_segments
	    UNION ALL
	    SELECT format('%s %s %s %s %s', run_id, customer_key, segment_id, previous_segment_id, since)
	    FROM segment.assignment_history) q};
my $before = $node->safe_psql('postgres', $fingerprint);
my $summary = q{SELECT count(*) FILTER (WHERE from_segment <> to_segment) || ' ' || sum(customers)
                FROM segment.transitions('crm')};
my $transitions = $node->safe_psql('postgres', $summary);

my $dump = $node->basedir . '/segment.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ], 'pg_restore');

is($node->safe_psql('restored', $fingerprint), $before,
	'definitions, runs with their models, segments and assignment history restored exactly');
is($node->safe_psql('restored', $summary), $transitions, 'transitions restored');
is($node->safe_psql('restored', q{SELECT segment_name FROM segment.segment_sizes WHERE segment_id = 1}),
	'big spenders', 'labels restored');
is($node->safe_psql('restored', q{SELECT run_id || ' ' || changed || ' ' || customers FROM segment.refresh('crm')}),
	'3 0 2940', 'a refresh after the restore continues the run ids with stable segments');

$node->stop;
done_testing();
