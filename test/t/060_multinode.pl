# Scale-out with real servers: three PostgreSQL instances on TCP loopback,
# customers sharded across them (customer % 3), partial states computed on
# each node, fetched by a coordinator through postgres_fdw (so every state
# crosses a connection in its text form) and merged there.  The merged
# results must equal one node holding all rows: the CLV fits on CDNOW (and
# the published CDNOW parameters), and the quantile breaks on UCI Online
# Retail, exact ones bit for bit and sketches within their certified bound
# (ranks counted by SQL, not by the extension).
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

my $cdnow = need_dataset('cdnow/CDNOW_sample.txt');
my $retail = need_dataset('online_retail/online_retail.csv');

my @nodes = segment_nodes(3, name => 'shard');
my $coord = $nodes[0];    # node 1 is also the coordinator, and holds all rows in *_all tables

for my $i (1 .. 3)
{
	my $node = $nodes[ $i - 1 ];
	my $shard = $i - 1;
	$node->safe_psql('postgres', q{ALTER DATABASE postgres SET TimeZone = 'UTC'});
	# CDNOW transactions of this shard's customers, and the per-customer BTYD
	# summary (calibration ends 1997-09-30, weeks), as in 030_clv_cdnow.pl
	$node->safe_psql('postgres', 'CREATE TABLE cdnow_all (master_id int, customer int, day text, cds int, amount numeric)');
	load_whitespace_table($node, 'cdnow_all', $cdnow, 5);
	$node->safe_psql('postgres', qq{
		CREATE TABLE cdnow_tx AS SELECT * FROM cdnow_all WHERE customer % 3 = $shard;
		CREATE VIEW cdnow_customers AS
		SELECT customer, (s).repeat_periods AS x, (s).t_x_days / 7.0 AS t_x, (s).t_days / 7.0 AS t,
		       (s).repeat_avg_amount AS zbar
		FROM (SELECT customer, segment.rfm_summary(to_date(day, 'YYYYMMDD'), amount, '1997-09-30') AS s
		      FROM cdnow_tx GROUP BY customer) q;
		CREATE VIEW clv_states AS
		SELECT segment.bgnbd_partial(x, t_x, t) AS bgnbd, segment.pareto_nbd_partial(x, t_x, t) AS pnbd,
		       segment.gamma_gamma_partial(x, zbar) AS gg,
		       segment.bgnbd_partial(x, t_x, t, '{"penalizer": 0.01}') AS bgnbd_pen
		FROM cdnow_customers;

		-- Online Retail invoice lines of this shard's customers (usual cleaning)
		CREATE TABLE retail (invoice text, stock_code text, description text, quantity int,
		                     invoiced_at timestamp, unit_price numeric, customer_id text, country text);
		COPY retail FROM '$retail' WITH (FORMAT csv, HEADER);
		CREATE TABLE lines_all AS
		SELECT customer_id::numeric::int AS customer, invoice, invoiced_at,
		       quantity * unit_price AS amount
		FROM retail WHERE customer_id <> '' AND invoice NOT LIKE 'C%' AND quantity > 0 AND unit_price > 0;
		DROP TABLE retail;
		CREATE TABLE lines AS SELECT * FROM lines_all WHERE customer % 3 = $shard;
		CREATE VIEW invoices AS
		SELECT customer, invoice, min(invoiced_at) AS invoiced_at, sum(amount) AS amount
		FROM lines GROUP BY 1, 2;
		CREATE VIEW retail_states AS
		SELECT segment.quantile_partial(amount::float8, 5, 0) AS amount_exact,
		       segment.quantile_partial(amount::float8, 5, 256) AS amount_sketch
		FROM lines;
		CREATE VIEW rfm_states AS
		SELECT segment.quantile_partial((s).recency_days, 5) AS recency,
		       segment.quantile_partial((s).frequency, 5) AS frequency,
		       segment.quantile_partial((s).monetary::float8, 5, 0) AS monetary
		FROM (SELECT segment.rfm_summary(invoiced_at, amount, '2011-12-10') AS s
		      FROM invoices GROUP BY customer) c;
	});
	# only the coordinator keeps the all-rows tables (the "one node")
	$node->safe_psql('postgres', 'DROP TABLE cdnow_all; DROP TABLE lines_all') if $i > 1;
}
is($coord->safe_psql('postgres', 'SELECT count(DISTINCT customer) FROM cdnow_all'), '2357', 'CDNOW: 2,357 customers');
my @per_node = map { $_->safe_psql('postgres', 'SELECT count(DISTINCT customer) FROM cdnow_tx') } @nodes;
ok(!(grep { $_ < 700 } @per_node) && $per_node[0] + $per_node[1] + $per_node[2] == 2357,
	'CDNOW customers sharded over three servers (' . join(', ', @per_node) . ')');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM lines_all'), '397884', 'Online Retail: 397,884 clean lines');

# the coordinator reads every shard's states through postgres_fdw over TCP
my @servers = segment_fdw_servers($coord, @nodes);
for my $i (1 .. 3)
{
	$coord->safe_psql('postgres', qq{
		CREATE FOREIGN TABLE clv_states_$i (bgnbd segment.clv_state, pnbd segment.clv_state,
		                                    gg segment.clv_state, bgnbd_pen segment.clv_state)
			SERVER shard_$i OPTIONS (table_name 'clv_states');
		CREATE FOREIGN TABLE retail_states_$i (amount_exact segment.quantile_state, amount_sketch segment.quantile_state)
			SERVER shard_$i OPTIONS (table_name 'retail_states');
		CREATE FOREIGN TABLE rfm_states_$i (recency segment.quantile_state, frequency segment.quantile_state,
		                                    monetary segment.quantile_state)
			SERVER shard_$i OPTIONS (table_name 'rfm_states');
	});
}
$coord->safe_psql('postgres', q{
	CREATE TABLE clv_parts AS
	SELECT * FROM clv_states_1 UNION ALL SELECT * FROM clv_states_2 UNION ALL SELECT * FROM clv_states_3;
	CREATE TABLE retail_parts AS
	SELECT * FROM retail_states_1 UNION ALL SELECT * FROM retail_states_2 UNION ALL SELECT * FROM retail_states_3;
	CREATE TABLE rfm_parts AS
	SELECT * FROM rfm_states_1 UNION ALL SELECT * FROM rfm_states_2 UNION ALL SELECT * FROM rfm_states_3;
});
like($coord->safe_psql('postgres', 'EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM clv_states_2'),
	qr/Foreign Scan/, 'states are fetched by postgres_fdw foreign scans');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM clv_parts'), '3', 'one CLV state per shard');

# sizes of what crossed the network
my ($clv_bytes, $retail_bytes) = split /\|/, $coord->safe_psql('postgres', q{
	SELECT (SELECT max(length(bgnbd::text)) FROM clv_parts), (SELECT max(length(amount_sketch::text)) FROM retail_parts)});
note("largest BG/NBD state: $clv_bytes bytes of text; largest amount sketch: $retail_bytes bytes of text");
cmp_ok($retail_bytes, '<', 40_000, 'a shard\'s sketch (sketch_size 256) of ~130,000 amounts crosses as < 40 kB of text');

# CLV: the merged states give exactly the one-node fit (same distinct
# summaries, same optimizer path), for every model and with options
my $single = q{
	SELECT customer, (s).repeat_periods AS x, (s).t_x_days / 7.0 AS t_x, (s).t_days / 7.0 AS t,
	       (s).repeat_avg_amount AS zbar
	FROM (SELECT customer, segment.rfm_summary(to_date(day, 'YYYYMMDD'), amount, '1997-09-30') AS s
	      FROM cdnow_all GROUP BY customer) q};
for my $m (['bgnbd', 'segment.bgnbd_fit(x, t_x, t)'], ['pnbd', 'segment.pareto_nbd_fit(x, t_x, t)'],
	['gg', 'segment.gamma_gamma_fit(x, zbar)'], ['bgnbd_pen', q{segment.bgnbd_fit(x, t_x, t, '{"penalizer": 0.01}')}])
{
	my ($col, $agg) = @$m;
	my $merged = $coord->safe_psql('postgres', "SELECT segment.clv_fit(segment.clv_merge($col))::text FROM clv_parts");
	my $one = $coord->safe_psql('postgres', "SELECT ${agg}::text FROM ($single) c");
	is($merged, $one, "$col: fit from three shards' merged states equals the one-node fit");
	is($coord->safe_psql('postgres', "SELECT segment.clv_merge($col)::text FROM clv_parts"),
		$coord->safe_psql('postgres', "SELECT segment.clv_state_pack(segment." . ($col eq 'gg' ? 'gamma_gamma' : $col eq 'pnbd' ? 'pareto_nbd' : 'bgnbd')
			  . "_partial(" . ($col eq 'gg' ? 'x, zbar' : 'x, t_x, t') . ($col eq 'bgnbd_pen' ? q{, '{"penalizer": 0.01}'} : '') . "))::text FROM ($single) c"),
		"$col: merged state equals the one-node state");
}

# and the published CDNOW results (Fader, Hardie & Lee 2005; see 030_clv_cdnow.pl)
my %published = (bgnbd => [ r => 0.2426, alpha => 4.4137, a => 0.7930, b => 2.4262 ],
	pnbd => [ r => 0.553, alpha => 10.578, s => 0.606 ], gg => [ p => 6.25, q => 3.74, gamma => 15.44 ]);
for my $col (sort keys %published)
{
	my @pairs = @{ $published{$col} };
	while (my ($k, $want) = splice(@pairs, 0, 2))
	{
		my $got = $coord->safe_psql('postgres',
			"SELECT (segment.clv_fit(segment.clv_merge($col))::jsonb->'params'->>'$k')::float8 FROM clv_parts");
		ok(abs($got / $want - 1) <= ($col eq 'gg' ? 2e-3 : 1e-3), "$col $k from merged shards: $got vs published $want");
	}
}

# quantiles: exact states merge to quantile_breaks on all rows, bit for bit,
# and that is the value of rank j*q + min(j, r) counted by SQL
my $exact_sql = q{
	WITH o AS (SELECT amount::float8 AS v, row_number() OVER (ORDER BY amount) AS rn, count(*) OVER () AS n FROM lines_all)
	SELECT array_agg(v ORDER BY rn)::text FROM o
	WHERE rn IN (SELECT j * (n / 5) + least(j, n % 5) FROM generate_series(1, 4) j)};
my $by_sql = $coord->safe_psql('postgres', $exact_sql);
my $merged_exact = $coord->safe_psql('postgres',
	'SELECT segment.quantile_breaks(segment.quantile_merge(amount_exact))::text FROM retail_parts');
is($merged_exact, $coord->safe_psql('postgres', 'SELECT segment.quantile_breaks(amount::float8, 5)::text FROM lines_all'),
	"line amounts: exact states merged from three shards equal quantile_breaks on one node ($merged_exact)");
is($merged_exact, $by_sql, 'line amounts: and the values of the cut ranks counted by SQL');

# sketches: certified bound, a priori bound, and each cut's rank within it
my ($sketch_breaks, $err) = split /\|/, $coord->safe_psql('postgres', q{
	SELECT segment.quantile_breaks(segment.quantile_merge(amount_sketch))::text,
	       segment.quantile_rank_error(segment.quantile_merge(amount_sketch)) FROM retail_parts});
my $n = 397884;
cmp_ok($err, '>', 0, 'line amounts sketch (sketch_size 256): lossy');
cmp_ok($err, '<=', 2 / 256 * (log(2 * $n / 256) / log(2) + 1), "line amounts sketch: certified rank error $err within the a priori bound");
my $worst = $coord->safe_psql('postgres', qq{
	WITH b AS (SELECT '$sketch_breaks'::float8[] AS breaks),
	     c AS (SELECT j, j * ($n / 5) + least(j, $n % 5) AS target, breaks[j] AS cut FROM b, generate_series(1, 4) j)
	SELECT max(greatest(0, (SELECT count(*) FROM lines_all WHERE amount::float8 < cut) + 1 - target,
	                       target - (SELECT count(*) FROM lines_all WHERE amount::float8 <= cut))) FROM c});
cmp_ok($worst, '<=', $err * $n, "line amounts sketch: worst rank miss $worst <= certified " . int($err * $n));
note("line amounts sketch: breaks $sketch_breaks, exact $merged_exact, certified rank error $err, worst rank miss $worst");

# RFM scores' cut points from per-node customers: recency and frequency stay
# exact in the default sketch (few distinct values), monetary is exact mode
my $rfm_one = $coord->safe_psql('postgres', q{
	SELECT segment.quantile_breaks((s).recency_days, 5)::text, segment.quantile_breaks((s).frequency, 5)::text,
	       segment.quantile_breaks((s).monetary::float8, 5)::text
	FROM (SELECT segment.rfm_summary(invoiced_at, amount, '2011-12-10') AS s
	      FROM (SELECT customer, invoice, min(invoiced_at) AS invoiced_at, sum(amount) AS amount
	            FROM lines_all GROUP BY 1, 2) i GROUP BY customer) c});
my $rfm_merged = $coord->safe_psql('postgres', q{
	SELECT segment.quantile_breaks(segment.quantile_merge(recency))::text,
	       segment.quantile_breaks(segment.quantile_merge(frequency))::text,
	       segment.quantile_breaks(segment.quantile_merge(monetary))::text
	FROM rfm_parts});
is($rfm_merged, $rfm_one, "RFM cut points of 4,338 customers on three shards equal one node ($rfm_merged)");
is($coord->safe_psql('postgres', q{
	SELECT segment.quantile_rank_error(segment.quantile_merge(recency)) + segment.quantile_rank_error(segment.quantile_merge(frequency))
	FROM rfm_parts}), '0', 'recency and frequency states are exact');

$_->stop for @nodes;
done_testing();
