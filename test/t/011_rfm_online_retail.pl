# RFM on the UCI Online Retail transactions: the customer-level figures of
# datasets/online_retail/SOURCE.md (computed there with pandas-style code,
# independently of segment) are reproduced by rfm_summary.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

my $csv = need_dataset('online_retail/online_retail.csv');
my $node = segment_node('retail');

$node->safe_psql('postgres', qq{
	CREATE TABLE retail (invoice text, stock_code text, description text, quantity int,
	                     invoiced_at timestamp, unit_price numeric, customer_id text, country text);
	COPY retail FROM '$csv' WITH (FORMAT csv, HEADER);
	-- the usual cleaning: known customer, no cancellations, positive lines
	CREATE TABLE invoices AS
	SELECT customer_id::numeric::int AS customer, invoice,
	       min(invoiced_at) AS invoiced_at, sum(quantity * unit_price) AS amount
	FROM retail
	WHERE customer_id <> '' AND invoice NOT LIKE 'C%' AND quantity > 0 AND unit_price > 0
	GROUP BY 1, 2;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM retail'), '541909', 'all 541,909 rows loaded');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT customer), round(sum(amount), 2) FROM invoices'),
	'18532|4338|8911407.90', 'cleaning leaves 18,532 invoices of 4,338 customers worth 8,911,407.90');

# snapshot 2011-12-10; R = days since the last purchase date, F = invoices,
# M = revenue.  SOURCE.md: R mean 93.06, median 51, range 1..374;
# F mean 4.272, median 2, range 1..209; M mean 2054.27, median 674.485.
my $stats = $node->safe_psql('postgres', q{
	SET TimeZone = 'UTC';
	WITH c AS (SELECT (segment.rfm_summary(invoiced_at, amount, '2011-12-10')).* FROM invoices GROUP BY customer)
	SELECT round(avg(recency_days), 2), percentile_cont(0.5) WITHIN GROUP (ORDER BY recency_days),
	       min(recency_days), max(recency_days),
	       round(avg(frequency), 3), percentile_cont(0.5) WITHIN GROUP (ORDER BY frequency),
	       min(frequency), max(frequency),
	       round(avg(monetary)::numeric, 2), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY monetary)::numeric, 3)
	FROM c});
is($stats, '93.06|51|1|374|4.272|2|1|209|2054.27|674.485', 'R, F and M statistics match SOURCE.md');

# scores: equal frequencies always share a score, so the value ranges of
# the five F scores never overlap; ntile(5) splits the 1,493 one-invoice
# customers (34%) over two buckets, so its first two ranges overlap
my $ranges = $node->safe_psql('postgres', q{
	SET TimeZone = 'UTC';
	WITH c AS (SELECT customer, (segment.rfm_summary(invoiced_at, amount, '2011-12-10')).* FROM invoices GROUP BY customer),
	     s AS (SELECT frequency, segment.rfm_score(frequency) OVER () AS f,
	                  ntile(5) OVER (ORDER BY frequency) AS nt FROM c),
	     ours AS (SELECT f, min(frequency) lo, max(frequency) hi, count(*) n FROM s GROUP BY f),
	     theirs AS (SELECT nt, min(frequency) lo, max(frequency) hi FROM s GROUP BY nt)
	SELECT (SELECT count(*) FROM ours a JOIN ours b ON b.f = a.f + 1 WHERE a.hi >= b.lo),
	       (SELECT count(*) FROM theirs a JOIN theirs b ON b.nt = a.nt + 1 WHERE a.hi >= b.lo),
	       (SELECT n FROM ours WHERE f = 1), (SELECT hi FROM ours WHERE f = 1),
	       (SELECT count(*) FROM c WHERE frequency = 1)});
my ($ours_overlap, $ntile_overlap, $f1_n, $f1_hi, $one_invoice) = split /\|/, $ranges;
is($ours_overlap, 0, 'rfm_score: value ranges of consecutive F scores never overlap');
cmp_ok($ntile_overlap, '>', 0, 'ntile: consecutive buckets share a frequency value (for contrast)');
is($f1_n, $one_invoice, 'all one-invoice customers share F = 1');
is($f1_hi, 1, 'F = 1 holds only one-invoice customers');

$node->stop;
done_testing();
