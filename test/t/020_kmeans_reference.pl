# kmeans_fit against published reference results and against scikit-learn:
#  - Iris, 4 raw features, scale none, k = 3: inertia 78.851 (±0.001), sizes 50/62/38
#    (iris/SOURCE.md: scikit-learn and R print 78.85144);
#  - Mall Customers (income, score), scale none, k = 5: inertia 44448.455 (±0.01)
#    (mall_customers/SOURCE.md);
#  - from the same initial centroids as scikit-learn (Debian's python3-sklearn,
#    called here at test time: KMeans(init=C0, n_init=1, algorithm="lloyd")),
#    the same inertia within 1e-6 relative and the same label for every row.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;
use JSON::PP;

my $iris = need_dataset('iris/iris.csv');
my $mall = need_dataset('mall_customers/Mall_Customers.csv');

my $node = segment_node('kmeans_ref');

my @iris = csv_rows($iris);
my @mall = csv_rows($mall);
is(scalar(@iris), 150, 'iris: 150 rows');
is(scalar(@mall), 200, 'mall customers: 200 rows');

$node->safe_psql('postgres', q{
	CREATE TABLE iris (id int, f float8[]);
	CREATE TABLE mall (id int, f float8[]);
});
my $i = 0;
$node->safe_psql('postgres', "COPY iris FROM STDIN;\n"
	  . join('', map { ++$i . "\t{" . join(',', @{$_}[0 .. 3]) . "}\n" } @iris) . "\\.\n");
$node->safe_psql('postgres', "COPY mall FROM STDIN;\n"
	  . join('', map { ($_->[0] + 0) . "\t{" . join(',', @{$_}[3 .. 4]) . "}\n" } @mall) . "\\.\n");

# --- published references ---------------------------------------------
my $r = $node->safe_psql('postgres', q{
	SELECT round(((m::jsonb)->>'inertia')::numeric, 6), (m::jsonb)->>'sizes'
	FROM (SELECT segment.kmeans_fit(f, 3, '{"scale": "none", "n_init": 10}') AS m FROM iris) s});
my ($inertia, $sizes) = split /\|/, $r;
cmp_ok(abs($inertia - 78.851), '<=', 0.001, "iris k=3 inertia $inertia is 78.851 ± 0.001");
my @s = sort { $b <=> $a } @{ decode_json($sizes) };
is(join('/', @s), '62/50/38', 'iris k=3 sizes are 50/62/38');

# the R centers of SOURCE.md, in original units
my $centers = $node->safe_psql('postgres', q{
	SELECT string_agg(array_to_string(ARRAY(SELECT round(x::numeric, 3) FROM unnest(c.centroid) x), ','), ' ' ORDER BY c.centroid[1])
	FROM (SELECT segment.kmeans_fit(f, 3, '{"scale": "none"}') AS m FROM iris) s, segment.model_centroids(m) c});
is($centers, '5.006,3.428,1.462,0.246 5.902,2.748,4.394,1.434 6.850,3.074,5.742,2.071',
	'iris k=3 centers match R kmeans');

$r = $node->safe_psql('postgres', q{
	SELECT ((m::jsonb)->>'inertia')::float8, (m::jsonb)->>'sizes'
	FROM (SELECT segment.kmeans_fit(f, 5, '{"scale": "none"}') AS m FROM mall) s});
($inertia, $sizes) = split /\|/, $r;
cmp_ok(abs($inertia - 44448.455), '<=', 0.01, "mall k=5 inertia $inertia is 44448.455 ± 0.01");
is(join('/', @{ decode_json($sizes) }), '81/39/35/23/22', 'mall k=5 sizes 81/39/35/23/22');

# several seeds all reach the reference optimum on these data sets
$r = $node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE abs(((m::jsonb)->>'inertia')::float8 - 78.851441426146) < 1e-6)
	FROM generate_series(1, 5) seed,
	     LATERAL (SELECT segment.kmeans_fit(f, 3, jsonb_build_object('scale', 'none', 'seed', seed)) AS m FROM iris) s});
is($r, '5', 'iris: seeds 1..5 all reach 78.851441');

# --- scikit-learn from the same initial centroids -----------------------
SKIP:
{
	my $py = '/usr/bin/python3';
	skip 'python3 with scikit-learn not available: sklearn comparison skipped', 8
	  unless -x $py && system($py, '-c', 'import sklearn') == 0;

	# Reference script: C0 from sklearn's own k-means++ (random_state 0), then
	# a single Lloyd run; prints C0, inertia and labels as JSON.
	my $script = <<'PY';
import json, sys
import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus
X = np.array(json.loads(sys.stdin.read()), dtype=np.float64)
k = int(sys.argv[1])
C0, _ = kmeans_plusplus(X, n_clusters=k, random_state=0)
km = KMeans(n_clusters=k, init=C0, n_init=1, max_iter=300, tol=1e-4, algorithm="lloyd").fit(X)
print(json.dumps({"init": C0.tolist(), "inertia": float(km.inertia_), "labels": km.labels_.tolist(), "n_iter": int(km.n_iter_)}))
PY
	for my $case (['iris', 3], ['iris', 4], ['mall', 5], ['mall', 6])
	{
		my ($table, $k) = @$case;
		my $rows = $node->safe_psql('postgres', "SELECT json_agg(f ORDER BY id) FROM $table");
		my ($out, $in) = ('', $rows);
		require IPC::Run;
		IPC::Run::run([ $py, '-c', $script, $k ], \$in, \$out) or die "python failed";
		my $ref = decode_json($out);
		my $init = encode_json({ init => $ref->{init}, scale => 'none' });
		my $labels = encode_json($ref->{labels});
		my $res = $node->safe_psql('postgres', qq{
			WITH m AS (SELECT segment.kmeans_fit(f, $k, '$init') AS m FROM $table),
			     lab AS (SELECT t.id, segment.assign_segment(m.m, t.f) AS ours,
			                    (('$labels'::jsonb)->>(t.id - 1))::int AS theirs
			             FROM $table t, m)
			SELECT ((SELECT m FROM m)::jsonb->>'inertia')::float8,
			       (SELECT count(DISTINCT (ours, theirs)) FROM lab),
			       (SELECT count(DISTINCT ours) FROM lab)});
		my ($ours, $pairs, $segs) = split /\|/, $res;
		my $rel = abs($ours - $ref->{inertia}) / $ref->{inertia};
		cmp_ok($rel, '<=', 1e-6,
			"$table k=$k: inertia $ours vs scikit-learn $ref->{inertia} from the same init");
		ok($pairs == $k && $segs == $k,
			"$table k=$k: every row in the same cluster as scikit-learn ($pairs label pairs)");
	}
}

done_testing();
