# Segment quality (issue 4) against values from outside the project:
#  - Iris (4 raw features, scale none, k = 3, labels from a fixed model):
#    kmeans_evaluate's silhouette, Davies-Bouldin and Calinski-Harabasz equal
#    scikit-learn's silhouette_score, davies_bouldin_score and
#    calinski_harabasz_score within 1e-6 relative; the reference values are
#    computed here at test time by Debian's python3-sklearn (/usr/bin/python3)
#    on the same rows and labels;
#  - Mall Customers (income, score; columns 4 and 5 of a CRLF file):
#    kmeans_sweep over k = 2..10 recommends 5 (scikit-learn's silhouette
#    also peaks at k = 5: 0.5539 raw, 0.5547 standardized).
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;
use JSON::PP;

my $iris = need_dataset('iris/iris.csv');
my $mall = need_dataset('mall_customers/Mall_Customers.csv');

my $node = segment_node('quality_ref');

my @iris = csv_rows($iris);
my @mall = csv_rows($mall);
$node->safe_psql('postgres', q{
	CREATE TABLE iris (id int, f float8[]);
	CREATE TABLE mall (id int, f float8[]);
});
my $i = 0;
$node->safe_psql('postgres', "COPY iris FROM STDIN;\n"
	  . join('', map { ++$i . "\t{" . join(',', @{$_}[0 .. 3]) . "}\n" } @iris) . "\\.\n");
$node->safe_psql('postgres', "COPY mall FROM STDIN;\n"
	  . join('', map { ($_->[0] + 0) . "\t{" . join(',', @{$_}[3 .. 4]) . "}\n" } @mall) . "\\.\n");
is(scalar(@mall), 200, 'mall customers: 200 rows');

$node->safe_psql('postgres', q{
	CREATE TABLE iris_model AS SELECT segment.kmeans_fit(f, 3, '{"scale": "none", "seed": 7}') AS m FROM iris});
my $ours = decode_json($node->safe_psql('postgres', q{
	SELECT segment.kmeans_evaluate(f, m) FROM iris, iris_model}));
is(join('/', @{ $ours->{sizes} }), '62/50/38', 'iris: evaluate sizes 62/50/38');
ok($ours->{silhouette_exact} && $ours->{silhouette_sample_size} == 150,
	'iris: silhouette exact over all 150 rows');

SKIP:
{
	my $py = '/usr/bin/python3';
	skip 'python3 with scikit-learn not available: sklearn comparison skipped', 3
	  unless -x $py && system($py, '-c', 'import sklearn') == 0;
	my $script = <<'PY';
import json, sys
import numpy as np
from sklearn.metrics import silhouette_score, davies_bouldin_score, calinski_harabasz_score
d = json.loads(sys.stdin.read())
X = np.array(d["X"], dtype=np.float64)
y = np.array(d["labels"])
print(json.dumps({"silhouette": float(silhouette_score(X, y)),
                  "davies_bouldin": float(davies_bouldin_score(X, y)),
                  "calinski_harabasz": float(calinski_harabasz_score(X, y))}))
PY
	my $in = $node->safe_psql('postgres', q{
		SELECT json_build_object('X', json_agg(f ORDER BY id),
		                         'labels', json_agg(segment.assign_segment(m, f) ORDER BY id))
		FROM iris, iris_model});
	my $out = '';
	require IPC::Run;
	IPC::Run::run([ $py, '-c', $script ], \$in, \$out) or die "python failed";
	my $ref = decode_json($out);
	for my $metric (qw(silhouette davies_bouldin calinski_harabasz))
	{
		my $rel = abs($ours->{$metric} - $ref->{$metric}) / abs($ref->{$metric});
		cmp_ok($rel, '<=', 1e-6,
			"iris: $metric $ours->{$metric} equals scikit-learn's $ref->{$metric} (relative difference $rel)");
	}
}

# Mall Customers: the sweep recommends the well-known 5 segments
my $sweep = decode_json($node->safe_psql('postgres', q{
	SELECT segment.kmeans_sweep(f, 2, 10) FROM mall}));
is($sweep->{recommended_k}, 5, "mall customers: kmeans_sweep recommends k = 5 ($sweep->{rule})");
is(scalar(@{ $sweep->{results} }), 9, 'mall customers: one result per k = 2..10');
my ($r5) = grep { $_->{k} == 5 } @{ $sweep->{results} };
cmp_ok(abs($r5->{silhouette} - 0.5547), '<=', 0.005,
	"mall customers: k = 5 silhouette $r5->{silhouette} near scikit-learn's 0.5547 (standardized)");

done_testing();
