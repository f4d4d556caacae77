# k-means over three real servers: customers sharded over three PostgreSQL
# instances on TCP loopback (customer % 3); a coordinator drives Lloyd's
# iterations through postgres_fdw: it writes the current model to each
# shard, reads each shard's kmeans_step_partial state back (both cross the
# connection in their text form), merges the states with kmeans_step_merge
# and moves the centroids with kmeans_step_next, until converged.  From the
# same initial centroids the result must equal one node holding all rows:
# kmeans_fit in memory and kmeans_fit_scan (same inertia within 1e-9
# relative, same sizes, same iterations, same centroids within 1e-9), and
# scikit-learn's KMeans(init=C0, n_init=1, algorithm="lloyd") on the same
# transformed and standardized rows (Debian's /usr/bin/python3; skipped with
# a message when scikit-learn is missing).  The binary form of a state
# crosses too (COPY BINARY), and a truncated one is refused with 22P03.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my @nodes = segment_nodes(3, name => 'kmshard');
my $coord = $nodes[0];    # node 1 also holds all rows in customers_all

# RFM-like customers: four groups, log-normal money (transform log1p)
my $generate = q{
	SELECT id,
	       (CASE id % 4 WHEN 0 THEN 20 WHEN 1 THEN 90 WHEN 2 THEN 200 ELSE 330 END
	        + 70 * sin(id * 12.9898))::float8 AS recency,
	       (CASE id % 4 WHEN 0 THEN 12 WHEN 1 THEN 6 WHEN 2 THEN 3 ELSE 1 END
	        + 4 * abs(sin(id * 78.233)))::float8 AS frequency,
	       exp(CASE id % 4 WHEN 0 THEN 6.5 WHEN 1 THEN 5.5 WHEN 2 THEN 4.5 ELSE 3.5 END
	           + 1.5 * sin(id * 3.7))::float8 AS monetary
	FROM generate_series(1, 30000) id};
my $opts = '{"transform": {"3": "log1p"}, "scale": "zscore", "max_iter": 100, '
  . '"init": [[40, 10, 500], [110, 5, 200], [180, 3, 100], [300, 2, 40]]}';

for my $i (1 .. 3)
{
	my $node = $nodes[ $i - 1 ];
	my $shard = $i - 1;
	$node->safe_psql('postgres', qq{
		CREATE TABLE customers AS SELECT * FROM ($generate) g WHERE id % 3 = $shard;
		CREATE TABLE model_param (m segment.segment_model);
		CREATE VIEW step_state AS
		SELECT segment.kmeans_step_partial(ARRAY[recency, frequency, monetary], (SELECT m FROM model_param)) AS s
		FROM customers;
	});
}
$coord->safe_psql('postgres', "CREATE TABLE customers_all AS $generate");
my @servers = segment_fdw_servers($coord, @nodes);
for my $i (1 .. 3)
{
	$coord->safe_psql('postgres', qq{
		CREATE FOREIGN TABLE model_$i (m segment.segment_model) SERVER shard_$i OPTIONS (table_name 'model_param');
		CREATE FOREIGN TABLE state_$i (s segment.kmeans_step_state) SERVER shard_$i OPTIONS (table_name 'step_state');
	});
}
my @per_node = map { $_->safe_psql('postgres', 'SELECT count(*) FROM customers') } @nodes;
is($per_node[0] + $per_node[1] + $per_node[2], 30000, 'customers sharded over three servers (' . join(', ', @per_node) . ')');

# send a model to every shard (it crosses as text through postgres_fdw)
sub publish
{
	my ($model_sql) = @_;
	$coord->safe_psql('postgres', qq{
		CREATE TEMP TABLE IF NOT EXISTS current_model (m segment.segment_model);
		TRUNCATE current_model;
		INSERT INTO current_model $model_sql;
		DELETE FROM model_1; INSERT INTO model_1 SELECT m FROM current_model;
		DELETE FROM model_2; INSERT INTO model_2 SELECT m FROM current_model;
		DELETE FROM model_3; INSERT INTO model_3 SELECT m FROM current_model;
	});
}
my $states = 'SELECT s FROM state_1 UNION ALL SELECT s FROM state_2 UNION ALL SELECT s FROM state_3';

# 1. statistics pass over the template, merged -> the initial model
publish(qq{SELECT segment.kmeans_step_template(3, '$opts')});
my $model = $coord->safe_psql('postgres',
	"SELECT segment.kmeans_step_init(segment.kmeans_step_merge(s), 4, '$opts')::text FROM ($states) q");
like($coord->safe_psql('postgres', 'EXPLAIN (VERBOSE, COSTS OFF) SELECT s FROM state_2'), qr/Foreign Scan/,
	'states are fetched by postgres_fdw foreign scans');

# 2. Lloyd passes driven from the coordinator
my ($iterations, $converged) = (0, 'false');
while ($iterations < 100 && $converged ne 'true')
{
	publish("SELECT '$model'::segment.segment_model");
	$model = $coord->safe_psql('postgres', "SELECT segment.kmeans_step_next(segment.kmeans_step_merge(s))::text FROM ($states) q");
	$converged = decode_json($model)->{converged} ? 'true' : 'false';
	$iterations++;
}
is($converged, 'true', "distributed Lloyd converged after $iterations passes");
# 3. sizes and inertia at the final centroids
publish("SELECT '$model'::segment.segment_model");
my $merged = decode_json($coord->safe_psql('postgres',
	"SELECT segment.kmeans_step_finish(segment.kmeans_step_merge(s))::text FROM ($states) q"));
my $state_bytes = $coord->safe_psql('postgres', 'SELECT max(length(s::text)) FROM state_1');
note("a shard's state (k = 4, d = 3) crosses as $state_bytes bytes of text");
cmp_ok($state_bytes, '<', 4000, 'a shard state is small (< 4 kB of text)');

# one node holding all rows: in-memory fit and the scan driver
my $features = 'ARRAY[recency, frequency, monetary]';
my $memory = decode_json($coord->safe_psql('postgres',
	"SELECT segment.kmeans_fit($features, 4, '$opts')::text FROM customers_all"));
my $scan = decode_json($coord->safe_psql('postgres',
	"SELECT segment.kmeans_fit_scan('customers_all', '{recency,frequency,monetary}', 4, '$opts')::text"));

sub max_centroid_diff
{
	my ($a, $b) = @_;
	my $max = 0;
	for my $c (0 .. $#{ $a->{centroids} })
	{
		for my $j (0 .. $#{ $a->{centroids}[$c] })
		{
			my $d = abs($a->{centroids}[$c][$j] - $b->{centroids}[$c][$j]);
			$max = $d if $d > $max;
		}
	}
	return $max;
}
for my $one ([ 'kmeans_fit (memory)', $memory ], [ 'kmeans_fit_scan', $scan ])
{
	my ($name, $m) = @$one;
	my $rel = abs($merged->{inertia} / $m->{inertia} - 1);
	cmp_ok($rel, '<', 1e-9, "merged shards vs one-node $name: inertia $merged->{inertia} vs $m->{inertia} (rel $rel)");
	is(join(',', @{ $merged->{sizes} }), join(',', @{ $m->{sizes} }), "same sizes as one-node $name");
	is($iterations, $m->{n_iter}, "same iterations as one-node $name ($m->{n_iter})");
	cmp_ok(max_centroid_diff($merged, $m), '<', 1e-9, "same centroids as one-node $name");
}
is($merged->{mode}, 'scan', 'the merged model records mode scan');
is(join(',', map { sprintf '%.6f', $_ } @{ $merged->{center} }), join(',', map { sprintf '%.6f', $_ } @{ $memory->{center} }),
	'scaler from merged statistics = one-node scaler');

# the binary form crosses too (COPY BINARY), and is validated
my $dir = PostgreSQL::Test::Utils::tempdir;
chmod 0777, $dir;
publish("SELECT '$model'::segment.segment_model");
$nodes[1]->safe_psql('postgres', "COPY (SELECT s FROM step_state) TO '$dir/state.bin' (FORMAT binary)");
$coord->safe_psql('postgres', qq{
	CREATE TABLE bin_state (s segment.kmeans_step_state);
	COPY bin_state FROM '$dir/state.bin' (FORMAT binary)});
is($coord->safe_psql('postgres', 'SELECT (SELECT s::text FROM bin_state) = (SELECT s::text FROM state_2)'), 't',
	'binary COPY of a state reads back to the same state');
{
	open my $fh, '<:raw', "$dir/state.bin" or die $!;
	local $/;
	my $bytes = <$fh>;
	close $fh;
	# cut the state's last 16 bytes and fix the field length (file trailer: 2 bytes)
	my $head = 19;    # signature 11 + flags 4 + extension 4
	my $tuple = substr($bytes, $head, length($bytes) - $head - 2);
	my ($nfields, $len) = unpack('n N', $tuple);
	my $field = substr($tuple, 6, $len - 16);
	open $fh, '>:raw', "$dir/bad.bin" or die $!;
	print $fh substr($bytes, 0, $head) . pack('n N', $nfields, $len - 16) . $field . pack('n', 0xFFFF);
	close $fh;
}
my ($ret, $out, $err) = $coord->psql('postgres', "COPY bin_state FROM '$dir/bad.bin' (FORMAT binary)",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/22P03/, 'a truncated binary state is refused with 22P03');

# scikit-learn from the same initial centroids on the same transformed, standardized rows
my $python = '/usr/bin/python3';
SKIP:
{
	skip 'Debian python3 with scikit-learn not available', 3
	  unless -x $python && system("$python -c 'import sklearn' 2>/dev/null") == 0;
	$coord->safe_psql('postgres', "COPY (SELECT recency, frequency, monetary FROM customers_all ORDER BY id) TO '$dir/rows.csv' (FORMAT csv)");
	my $script = <<'PY';
import json, sys
import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
X = np.loadtxt(sys.argv[1], delimiter=",")
init = np.array(json.loads(sys.argv[2]), dtype=float)
X[:, 2] = np.log1p(X[:, 2]); init[:, 2] = np.log1p(init[:, 2])
sc = StandardScaler().fit(X)
km = KMeans(n_clusters=4, init=sc.transform(init), n_init=1, max_iter=100, tol=1e-4,
            algorithm="lloyd").fit(sc.transform(X))
print(json.dumps({"inertia": float(km.inertia_), "n_iter": int(km.n_iter_),
                  "sizes": sorted(np.bincount(km.labels_, minlength=4).tolist(), reverse=True)}))
PY
	open my $fh, '>', "$dir/ref.py" or die $!;
	print $fh $script;
	close $fh;
	my $init = encode_json(decode_json($opts)->{init});
	my $ref = decode_json(`$python $dir/ref.py $dir/rows.csv '$init'`);
	my $rel = abs($merged->{inertia} / $ref->{inertia} - 1);
	cmp_ok($rel, '<', 1e-6, "merged shards vs scikit-learn: inertia $merged->{inertia} vs $ref->{inertia} (rel $rel)");
	is(join(',', @{ $merged->{sizes} }), join(',', @{ $ref->{sizes} }), 'same sizes as scikit-learn');
	cmp_ok(abs($iterations - $ref->{n_iter}), '<=', 1, "iterations $iterations vs scikit-learn $ref->{n_iter} (±1: sklearn counts a final strict-convergence pass differently)");
}

done_testing();
