# Managed segmentations under failure and concurrency: a refresh killed
# with SIGKILL or cancelled in the middle of writing assignments leaves the
# previous run current, complete and unchanged; two concurrent refreshes
# serialize and produce two complete runs, one after the other.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = segment_node('managed_safety', conf => "restart_after_crash = on\n");
my $n = 20000;

# the source sleeps 0.3 s on every 2000th row when segment_test.slow is on,
# so one scan takes about 3 s (a refresh scans it for the fit, then for the
# assignments, then for the silhouette sample)
$node->safe_psql('postgres', qq{
	CREATE TABLE cust AS
	SELECT i AS id, (i % 3) * 10 + (i % 7) * 0.1 AS x, (i % 3) * 5 + (i % 5) * 0.1 AS y
	FROM generate_series(1, $n) i;
	CREATE VIEW cust_src AS
	SELECT id, x, y FROM cust
	WHERE CASE WHEN current_setting('segment_test.slow', true) = 'on' AND id % 2000 = 0
	           THEN pg_sleep(0.3) IS NOT NULL ELSE true END;
	SELECT segment.create_segmentation('s', 'cust_src', 'id', '{x,y}', 3, '{"silhouette_sample": 0}');
	SELECT segment.refresh('s');
});

my $before = q{
	SELECT s.current_run || ' ' || (SELECT count(*) FROM segment.runs) || ' ' ||
	       (SELECT count(*) || ' ' || sum(hashtext(customer_key || ':' || segment_id))
	        FROM segment.current_segments WHERE segmentation = 's')
	FROM segment.segmentations s WHERE s.name = 's'};
my $state = $node->safe_psql('postgres', $before);
like($state, qr/^1 1 $n -?\d+$/, "first run current with $n customers ($state)");

# Start a slow refresh in a background session and wait until it is past
# the fit and writing assignments: the run id sequence (not transactional)
# moves when the run row is inserted, just before the assignments.
sub start_slow_refresh
{
	my ($on_error_stop) = @_;
	my $seq = $node->safe_psql('postgres', 'SELECT last_value FROM segment.runs_run_id_seq');
	my $session = $node->background_psql('postgres', on_error_stop => $on_error_stop);
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	chomp $pid;
	$session->query_until(qr/started/, qq{SET segment_test.slow = on;\n\\echo started\nSELECT segment.refresh('s');\n});
	$node->poll_query_until('postgres',
		"SELECT last_value > $seq FROM segment.runs_run_id_seq") or die "refresh did not reach the assignment step";
	sleep 1;
	ok($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'") == 1,
		"refresh (pid $pid) is running mid-way");
	return ($session, $pid);
}

# 1. SIGKILL mid-way: crash recovery, previous run intact
my ($session, $pid) = start_slow_refresh(1);
kill 'KILL', $pid or die "kill $pid: $!";
eval { $session->quit; };
$node->poll_query_until('postgres', 'SELECT true') or die 'server did not recover';
is($node->safe_psql('postgres', $before), $state, 'after SIGKILL and recovery: same current run, runs and assignments');
ok($node->log_contains(qr/terminated by signal 9/), 'the backend was killed by SIGKILL');

# 2. cancel mid-way: previous run intact
($session, $pid) = start_slow_refresh(0);
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
$node->wait_for_log(qr/canceling statement due to user request/);
$session->quit;
is($node->safe_psql('postgres', $before), $state, 'after cancel: same current run, runs and assignments');

# 3. two sessions refresh at once: both complete, one after the other
my @sessions = map { $node->background_psql('postgres') } 1 .. 2;
$_->query_until(qr/started/, qq{SET segment_test.slow = on;\n\\echo started\nSELECT segment.refresh('s');\n})
  for @sessions;
$node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'})
  or die 'no refresh waited for the advisory lock';
pass('the second refresh waits on the advisory lock');
$_->quit for @sessions;
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s:%s:%s:%s', customers, changed, chained, after), ' ' ORDER BY run_id)
	FROM (SELECT r.run_id, r.customers, r.changed,
	             r.previous_run IS NOT DISTINCT FROM lag(r.run_id) OVER w AS chained,
	             r.started_at >= coalesce(lag(r.finished_at) OVER w, '-infinity') AS after
	      FROM segment.runs r WHERE r.segmentation = 's' WINDOW w AS (ORDER BY r.run_id)) q}),
	"$n:0:t:t $n:0:t:t $n:0:t:t",
	'three complete runs, each after the previous one and chained to it');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM segment.current_segments WHERE segmentation = 's' AND run_id =
	       (SELECT max(run_id) FROM segment.runs)}), $n, 'the last run is current and complete');

$node->stop;
done_testing();
