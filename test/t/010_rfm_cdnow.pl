# rfm_summary on the CDNOW sample reproduces the published BTYD summary
# (x, t_x, T, zbar) of Fader, Hardie & Lee for all 2,357 customers, and
# on the CDNOW master file the order count and revenue of SOURCE.md.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

my $sample = need_dataset('cdnow/CDNOW_sample.txt');
my $summary = need_dataset('cdnow/cdnow_customers_summary_with_transactions.csv');
my $master = need_dataset('cdnow/CDNOW_master.txt');

my $node = segment_node('cdnow');

$node->safe_psql('postgres', q{
	CREATE TABLE cdnow_tx (master_id int, customer int, day text, cds int, amount numeric);
	CREATE TABLE published (customer int, x int, t_x float8, t float8, zbar float8);
	CREATE TABLE master_tx (customer int, day text, cds int, amount numeric);
});
# CDNOW files are whitespace-separated with CRLF endings
load_whitespace_table($node, 'cdnow_tx', $sample, 5);
load_whitespace_table($node, 'master_tx', $master, 4);
load_csv_table($node, 'published', $summary);

is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT customer) FROM cdnow_tx'),
	'6919|2357', 'CDNOW sample loaded: 6,919 transactions of 2,357 customers');

# calibration period ends 1997-09-30 inclusive; time in weeks = days / 7
my $cmp = $node->safe_psql('postgres', q{
	SET TimeZone = 'UTC';
	WITH ours AS (
		SELECT customer, segment.rfm_summary(to_date(day, 'YYYYMMDD'), amount, '1997-09-30') AS s
		FROM cdnow_tx GROUP BY customer)
	SELECT count(*),
	       count(*) FILTER (WHERE (s).repeat_periods = p.x),
	       count(*) FILTER (WHERE abs((s).t_x_days / 7.0 - p.t_x) <= 0.0051),
	       count(*) FILTER (WHERE abs((s).t_days / 7.0 - p.t) <= 0.0051),
	       count(*) FILTER (WHERE abs((s).repeat_avg_amount - p.zbar) <= 0.0051),
	       max(abs((s).t_x_days / 7.0 - p.t_x))::numeric(8,5),
	       max(abs((s).repeat_avg_amount - p.zbar))::numeric(8,5)
	FROM ours JOIN published p USING (customer)});
my ($n, $x_ok, $tx_ok, $t_ok, $zbar_ok, $tx_err, $zbar_err) = split /\|/, $cmp;
is($n, 2357, 'every published customer has a summary');
is($x_ok, 2357, 'repeat_periods equals the published x for all customers');
is($tx_ok, 2357, "t_x_days / 7 equals the published t_x within rounding (max error $tx_err)");
is($t_ok, 2357, 't_days / 7 equals the published T within rounding');
is($zbar_ok, 2357, "repeat_avg_amount equals the published zbar within rounding (max error $zbar_err)");

# repeat-buyer spend statistics as recomputed in SOURCE.md (946 repeat
# buyers, mean 35.0786, median 27.5, min 2.99, max 299.63), computed there
# from the published 2-decimal zbar values, so compared at 2 decimals
is($node->safe_psql('postgres', q{
	SELECT count(*), round(avg(z)::numeric, 2), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY z)::numeric, 2),
	       round(min(z)::numeric, 2), round(max(z)::numeric, 2)
	FROM (SELECT (segment.rfm_summary(to_date(day, 'YYYYMMDD'), amount, '1997-09-30')).repeat_avg_amount AS z,
	             (segment.rfm_summary(to_date(day, 'YYYYMMDD'), amount, '1997-09-30')).repeat_periods AS x
	      FROM cdnow_tx GROUP BY customer) q WHERE x > 0}),
	'946|35.08|27.50|2.99|299.63', 'repeat buyers and their spend match SOURCE.md');

# master file: 69,659 transactions, 23,570 customers, $2,500,315.63 in total
is($node->safe_psql('postgres', q{
	SELECT count(*), sum((s).frequency), round(sum((s).monetary)::numeric, 2)
	FROM (SELECT segment.rfm_summary(to_date(day, 'YYYYMMDD'), amount, '1998-06-30') AS s
	      FROM master_tx GROUP BY customer) q}),
	'23570|69659|2500315.63', 'master file: customers, orders and revenue match SOURCE.md');

$node->stop;
done_testing();
