# Managed segmentations under pg_cron: a job scheduled with cron.schedule
# runs segment.refresh; the run shows up in cron.job_run_details and in
# segment.runs.  pg_cron 1.4 (Debian 12) schedules by the minute, so the
# test waits up to three minutes for the first run.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

my $node = segment_node('managed_cron',
	conf => "shared_preload_libraries = 'pg_cron'\ncron.database_name = 'postgres'\n"
	  # the test cluster listens on a Unix socket only: run jobs in background
	  # workers rather than through a libpq connection to localhost
	  . "cron.use_background_workers = on\nmax_worker_processes = 16\n");

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_cron;
	CREATE TABLE cust AS
	SELECT i AS id, (i % 3) * 10 + (i % 7) * 0.1 AS x, (i % 3) * 5 + (i % 5) * 0.1 AS y
	FROM generate_series(1, 5000) i;
	SELECT segment.create_segmentation('nightly', 'cust', 'id', '{x,y}', 3);
});
my $job = $node->safe_psql('postgres',
	q{SELECT cron.schedule('segment-nightly', '* * * * *', $$SELECT segment.refresh('nightly')$$)});
like($job, qr/^\d+$/, "job $job scheduled with cron.schedule");

ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'segment-nightly' AND d.status IN ('succeeded', 'failed')}),
	'pg_cron ran the job');
is($node->safe_psql('postgres', q{
	SELECT d.status || ' ' || coalesce(d.return_message, '') FROM cron.job_run_details d
	JOIN cron.job j USING (jobid) WHERE j.jobname = 'segment-nightly' ORDER BY d.runid LIMIT 1}),
	'succeeded SELECT 1', 'the job succeeded');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || min(customers) || ' ' || min(k) || ' ' || bool_and(refreshed_by = 'postgres')
	FROM segment.runs WHERE segmentation = 'nightly'}) =~ /^(\d+) 5000 3 true$/ ? 'ok' : 'bad',
	'ok', 'the run is in segment.runs with every customer');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM segment.current_segments WHERE segmentation = 'nightly'}),
	'5000', 'current_segments holds every customer');

$node->safe_psql('postgres', q{SELECT cron.unschedule('segment-nightly')});
$node->stop;
done_testing();
