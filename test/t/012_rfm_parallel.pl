# Every fitting aggregate under real parallel workers (rfm_summary,
# quantile_breaks, k-means, CLV fits and the portable partial aggregates):
# the plans launch workers, and the results equal the serial ones.
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

# every other fitting aggregate: real workers, and the parallel result equals
# the serial one (CLV fits and exact quantile states bit for bit; k-means
# evaluation sums to rounding, since workers add in another order)
$node->safe_psql('postgres', q{
	CREATE TABLE customers AS
	SELECT c, (c * 7) % 9 AS x,
	       CASE WHEN (c * 7) % 9 = 0 THEN 0 ELSE (c * 13) % 30 END::float8 AS t_x,
	       30 + (c % 9)::float8 AS t,
	       CASE WHEN (c * 7) % 9 = 0 THEN 0 ELSE 5 + (c * 17) % 40 END::float8 AS zbar,
	       ARRAY[(c % 4) * 3 + ((c * 7919) % 1000) / 1000.0, ((c * 104729) % 1000) / 500.0]::float8[] AS f
	FROM generate_series(1::bigint, 100000) c;
	ANALYZE customers;
	SET max_parallel_workers_per_gather = 0;
	CREATE TABLE model AS SELECT segment.kmeans_fit(f, 3, '{"n_init": 2}') AS m FROM customers;
});
my %aggregates = (
	kmeans_fit => q{segment.kmeans_fit(f, 3, '{"n_init": 2}')::text},
	kmeans_evaluate => q{segment.kmeans_evaluate(f, (SELECT m FROM model))::jsonb->>'sizes'},
	kmeans_evaluate_inertia => q{round((segment.kmeans_evaluate(f, (SELECT m FROM model))::jsonb->>'inertia')::numeric, 6)},
	kmeans_sweep => q{segment.kmeans_sweep(f, 2, 4, '{"n_init": 2}')::text},
	bgnbd_fit => q{segment.bgnbd_fit(x, t_x, t, '{"tol": 1e-4}')::text},
	pareto_nbd_fit => q{segment.pareto_nbd_fit(x, t_x, t, '{"penalizer": 0.001}')::text},
	gamma_gamma_fit => q{segment.gamma_gamma_fit(x, zbar)::text},
	bgnbd_partial => q{segment.bgnbd_partial(x, t_x, t)::text},
	pareto_nbd_partial => q{segment.pareto_nbd_partial(x, t_x, t)::text},
	gamma_gamma_partial => q{segment.gamma_gamma_partial(x, zbar)::text},
	quantile_partial => q{segment.quantile_breaks(segment.quantile_partial(zbar, 5))::text},
	quantile_breaks => q{segment.quantile_breaks(zbar, 5)::text},
	rfm_summary => q{segment.rfm_summary(to_timestamp(c * 1000), zbar, '2024-01-01')::text},
);
for my $name (sort keys %aggregates)
{
	my $q = "SELECT $aggregates{$name} FROM customers";
	my $plan = $node->safe_psql('postgres', "$force EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $q");
	like($plan, qr/Partial Aggregate/, "$name: partial aggregation planned");
	like($plan, qr/Workers Launched: [12]/, "$name: workers launched");
	my $serial = $node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0; $q");
	my $parallel = $node->safe_psql('postgres', "$force $q");
	ok($serial ne '', "$name: serial result not empty");
	is($parallel, $serial, "$name: parallel result equals serial");
}

$node->stop;
done_testing();
