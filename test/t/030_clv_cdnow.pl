# CLV models on CDNOW reproduce the published results: BG/NBD and
# Pareto/NBD (Fader, Hardie & Lee 2005; BTYD walkthrough; CLVTools) and
# Gamma-Gamma (Fader, Hardie & Lee 2005 JMR), their predictions, and the
# same fits starting from the raw transactions through rfm_summary.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

my $summary = need_dataset('cdnow/cdnow_customers_summary_with_transactions.csv');
my $sample = need_dataset('cdnow/CDNOW_sample.txt');

my $node = segment_node('clv_cdnow');

# published summary (weeks): ID, x, t_x, T, zbar
$node->safe_psql('postgres', q{
	CREATE TABLE published (customer int, x float8, t_x float8, t float8, zbar float8)});
load_csv_table($node, 'published', $summary);
# raw transactions: master id, sample id, YYYYMMDD, cds, dollars (whitespace, CRLF)
$node->safe_psql('postgres', q{
	CREATE TABLE cdnow_tx (master_id int, customer int, day text, cds int, amount numeric)});
load_whitespace_table($node, 'cdnow_tx', $sample, 5);
is($node->safe_psql('postgres', 'SELECT count(*) FROM published'), '2357', '2,357 published summaries');

# calibration ends 1997-09-30 inclusive; weeks = days / 7
$node->safe_psql('postgres', q{
	SET TimeZone = 'UTC';
	CREATE TABLE from_raw AS
	SELECT customer, (s).repeat_periods AS x, (s).t_x_days / 7.0 AS t_x, (s).t_days / 7.0 AS t,
	       (s).repeat_avg_amount AS zbar
	FROM (SELECT customer, segment.rfm_summary(to_date(day, 'YYYYMMDD'), amount, '1997-09-30') AS s
	      FROM cdnow_tx GROUP BY customer) q;
	CREATE TABLE fits AS
	SELECT 'bgnbd' AS kind, 'published' AS source, segment.bgnbd_fit(x, t_x, t) AS m FROM published
	UNION ALL SELECT 'pareto_nbd', 'published', segment.pareto_nbd_fit(x, t_x, t) FROM published
	UNION ALL SELECT 'gamma_gamma', 'published', segment.gamma_gamma_fit(x, zbar) FROM published
	UNION ALL SELECT 'bgnbd', 'raw', segment.bgnbd_fit(x, t_x, t) FROM from_raw
	UNION ALL SELECT 'pareto_nbd', 'raw', segment.pareto_nbd_fit(x, t_x, t) FROM from_raw
	UNION ALL SELECT 'gamma_gamma', 'raw', segment.gamma_gamma_fit(x, zbar) FROM from_raw;
});

sub param
{
	my ($kind, $source, $key) = @_;
	return $node->safe_psql('postgres',
		"SELECT (m::jsonb->'params'->>'$key')::float8 FROM fits WHERE kind = '$kind' AND source = '$source'");
}
sub field
{
	my ($kind, $source, $key) = @_;
	return $node->safe_psql('postgres',
		"SELECT m::jsonb->>'$key' FROM fits WHERE kind = '$kind' AND source = '$source'");
}
sub near_rel
{
	my ($got, $want, $rel, $name) = @_;
	ok(abs($got / $want - 1) <= $rel, "$name: $got vs $want (relative tolerance $rel)");
}
sub near_abs
{
	my ($got, $want, $tol, $name) = @_;
	ok(abs($got - $want) <= $tol, "$name: $got vs $want (absolute tolerance $tol)");
}

for my $source ('published', 'raw')
{
	# BG/NBD: r, alpha, a, b and LL within 1e-3 relative
	is(field('bgnbd', $source, 'converged'), 'true', "$source: bgnbd converged");
	near_rel(param('bgnbd', $source, 'r'), 0.2426, 1e-3, "$source: bgnbd r");
	near_rel(param('bgnbd', $source, 'alpha'), 4.4137, 1e-3, "$source: bgnbd alpha");
	near_rel(param('bgnbd', $source, 'a'), 0.7930, 1e-3, "$source: bgnbd a");
	near_rel(param('bgnbd', $source, 'b'), 2.4262, 1e-3, "$source: bgnbd b");
	near_rel(field('bgnbd', $source, 'log_likelihood'), -9582.43, 1e-3, "$source: bgnbd log-likelihood");
	near_abs(field('bgnbd', $source, 'log_likelihood'), -9582.43, 0.01, "$source: bgnbd log-likelihood");

	# Pareto/NBD: r, alpha, s, LL within 1e-3 relative; beta (weakly
	# identified, standard error 6.2) within 1e-2 relative
	is(field('pareto_nbd', $source, 'converged'), 'true', "$source: pareto_nbd converged");
	near_rel(param('pareto_nbd', $source, 'r'), 0.553, 1e-3, "$source: pareto_nbd r");
	near_rel(param('pareto_nbd', $source, 'alpha'), 10.578, 1e-3, "$source: pareto_nbd alpha");
	near_rel(param('pareto_nbd', $source, 's'), 0.606, 1e-3, "$source: pareto_nbd s");
	near_rel(param('pareto_nbd', $source, 'beta'), 11.669, 1e-2, "$source: pareto_nbd beta");
	near_rel(field('pareto_nbd', $source, 'log_likelihood'), -9594.98, 1e-3, "$source: pareto_nbd log-likelihood");
	near_abs(field('pareto_nbd', $source, 'log_likelihood'), -9594.98, 0.01, "$source: pareto_nbd log-likelihood");

	# Gamma-Gamma on the 946 repeat buyers: published to 2 decimals
	is(field('gamma_gamma', $source, 'n_customers'), '946', "$source: gamma_gamma on 946 repeat buyers");
	is(field('gamma_gamma', $source, 'n_skipped_one_time'), '1411', "$source: 1,411 one-time buyers skipped");
	near_abs(param('gamma_gamma', $source, 'p'), 6.25, 0.01, "$source: gamma_gamma p");
	near_abs(param('gamma_gamma', $source, 'q'), 3.74, 0.01, "$source: gamma_gamma q");
	near_abs(param('gamma_gamma', $source, 'gamma'), 15.44, 0.01, "$source: gamma_gamma gamma");
	near_abs(field('gamma_gamma', $source, 'log_likelihood'), -4055.92, 0.01, "$source: gamma_gamma log-likelihood");
}

# the raw-data fits and the published-summary fits agree (the summary is rounded to 2 decimals)
for my $k (['bgnbd', qw(r alpha a b)], ['pareto_nbd', qw(r alpha s)], ['gamma_gamma', qw(p q gamma)])
{
	my ($kind, @keys) = @$k;
	near_rel(param($kind, 'raw', $_), param($kind, 'published', $_), 1e-3, "raw vs summary: $kind $_") for @keys;
}

# predictions from the fit on the raw transactions (BTYD walkthrough values)
my ($e52, $c1516, $p1516) = split /\|/, $node->safe_psql('postgres', q{
	SELECT segment.clv_expected_purchases(m, 52), segment.clv_conditional_purchases(m, 26, 30.85714, 31, 52),
	       segment.clv_probability_alive(m, 26, 30.85714, 31)
	FROM fits WHERE kind = 'bgnbd' AND source = 'raw'});
near_rel($e52, 1.444004, 1e-4, 'BG/NBD expected purchases at 52 weeks');
near_rel($c1516, 25.75659, 1e-4, 'customer 1516: conditional expected transactions over 52 weeks');
near_rel($p1516, 0.9688523, 1e-4, 'customer 1516: P(alive)');

# customer 1516 in the data itself
is($node->safe_psql('postgres', 'SELECT x, round(t_x::numeric, 5), t FROM from_raw WHERE customer = 1516'),
	'26|30.85714|31.0000000000000000', 'customer 1516 summary from rfm_summary');

# Pareto/NBD predictions (BTYD walkthrough: 1.473434, 25.45647, 0.997874)
my ($pe52, $pc1516, $pp1516) = split /\|/, $node->safe_psql('postgres', q{
	SELECT segment.clv_expected_purchases(m, 52), segment.clv_conditional_purchases(m, 26, 30.85714, 31, 52),
	       segment.clv_probability_alive(m, 26, 30.85714, 31)
	FROM fits WHERE kind = 'pareto_nbd' AND source = 'raw'});
near_rel($pe52, 1.473434, 1e-3, 'Pareto/NBD expected purchases at 52 weeks');
near_rel($pc1516, 25.45647, 1e-3, 'Pareto/NBD customer 1516 conditional expected transactions');
near_rel($pp1516, 0.997874, 1e-3, 'Pareto/NBD customer 1516 P(alive)');

# Gamma-Gamma conditional expected average profit of the first ten customers
my @want = (24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17);
my @got = split /\n/, $node->safe_psql('postgres', q{
	SELECT segment.clv_expected_spend(f.m, p.x, p.zbar)
	FROM published p, fits f WHERE f.kind = 'gamma_gamma' AND f.source = 'published' AND p.customer <= 10
	ORDER BY p.customer});
near_abs($got[$_], $want[$_], 0.1, 'expected average profit of customer ' . ($_ + 1)) for 0 .. 9;

# the mean over all customers (x = 0: the population mean), lifetimes Quickstart: 35.2529588256
near_abs($node->safe_psql('postgres', q{
	SELECT avg(segment.clv_expected_spend(f.m, p.x, p.zbar))
	FROM published p, fits f WHERE f.kind = 'gamma_gamma' AND f.source = 'published'}),
	35.2529588256, 1e-4, 'mean conditional expected average profit');

$node->stop;
done_testing();
