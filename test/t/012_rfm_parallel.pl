# rfm_summary and quantile_breaks under real parallel workers: the plans
# launch workers, and the results equal the serial ones.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

my $node = segment_node('parallel', conf => "max_worker_processes = 8\nmax_parallel_workers = 4\n");

$node->safe_psql('postgres', q{
	CREATE TABLE orders AS
	SELECT (i * 7919) % 20000 AS customer,
	       '2022-01-01'::timestamptz + ((i * 104729) % 700) * interval '1 day' AS ordered_at,
	       ((i * 2654435761) % 100000) / 100.0 AS amount
	FROM generate_series(1::bigint, 400000) i;
	ANALYZE orders;
});

my $force = q{
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
	SET parallel_leader_participation = off; SET TimeZone = 'UTC';
};
my $summary_query = q{SELECT customer, segment.rfm_summary(ordered_at, amount, '2024-01-01') AS s FROM orders GROUP BY customer};
my $breaks_query = q{SELECT segment.quantile_breaks(amount::float8, 5) FROM orders};

for my $q ($summary_query, $breaks_query)
{
	my $plan = $node->safe_psql('postgres', "$force EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $q");
	like($plan, qr/Partial (Group|Hash)?Aggregate/, 'partial aggregation planned');
	like($plan, qr/Workers Launched: [12]/, 'workers launched');
}

$node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0; CREATE TABLE serial AS $summary_query");
$node->safe_psql('postgres', "$force CREATE TABLE par AS $summary_query");
is($node->safe_psql('postgres', q{
	SELECT count(*), count(*) FILTER (WHERE (a.s).frequency = (b.s).frequency
	    AND (a.s).repeat_periods = (b.s).repeat_periods AND (a.s).t_x_days = (b.s).t_x_days
	    AND (a.s).t_days = (b.s).t_days AND (a.s).recency_days = (b.s).recency_days
	    AND abs((a.s).monetary - (b.s).monetary) < 1e-6
	    AND abs((a.s).repeat_avg_amount - (b.s).repeat_avg_amount) < 1e-6)
	FROM serial a JOIN par b USING (customer)}), '20000|20000', 'parallel rfm_summary equals serial for every customer');

my $serial_breaks = $node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0; $breaks_query");
my $parallel_breaks = $node->safe_psql('postgres', "$force $breaks_query");
is($parallel_breaks, $serial_breaks, "parallel quantile_breaks equals serial ($serial_breaks)");

# workers that see no rows at all still combine cleanly
is($node->safe_psql('postgres', "$force SELECT segment.quantile_breaks(amount::float8, 5) IS NULL,"
	  . " segment.rfm_summary(ordered_at, amount, '2024-01-01') IS NULL FROM orders WHERE amount < 0"),
	't|t', 'empty parallel aggregation gives NULL');

$node->stop;
done_testing();
