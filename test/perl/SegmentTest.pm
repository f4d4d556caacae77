# test/perl/SegmentTest.pm -- shared set-up for segment's TAP tests.
package SegmentTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(segment_node segment_nodes segment_fdw_servers datasets_dir need_dataset
  load_whitespace_table load_csv_table csv_rows);

# A started cluster with the extension created in database postgres.
sub segment_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "fsync = off\n" . ($opts{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION segment');
	return $node;
}

# $n started clusters with the extension, named "${name}_1" .. "${name}_$n"
# (name defaults to "node"; conf as for segment_node).  Each also listens on
# TCP loopback (127.0.0.1, its own port), so the nodes can reach each other
# through postgres_fdw as separate servers would.
sub segment_nodes
{
	my ($n, %opts) = @_;
	my $name = delete $opts{name} // 'node';
	my $conf = ($opts{conf} // '') . "listen_addresses = '127.0.0.1'\n";
	return map { segment_node("${name}_$_", %opts, conf => $conf) } 1 .. $n;
}

# On $coordinator, create postgres_fdw and one foreign server per node of
# @nodes, named shard_1 .. shard_N, reached over TCP loopback, with a user
# mapping for the current user.  Returns the server names.
sub segment_fdw_servers
{
	my ($coordinator, @nodes) = @_;
	my @servers;
	$coordinator->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS postgres_fdw');
	for my $i (1 .. @nodes)
	{
		my $port = $nodes[ $i - 1 ]->port;
		$coordinator->safe_psql('postgres', qq{
			CREATE SERVER shard_$i FOREIGN DATA WRAPPER postgres_fdw
				OPTIONS (host '127.0.0.1', port '$port', dbname 'postgres');
			CREATE USER MAPPING FOR CURRENT_USER SERVER shard_$i;
		});
		push @servers, "shard_$i";
	}
	return @servers;
}

# Where the shared data sets are (SEGMENT_DATASETS or ../shared/datasets).
sub datasets_dir
{
	return $ENV{SEGMENT_DATASETS} if $ENV{SEGMENT_DATASETS};
	my $root = $ENV{SEGMENT_SRCDIR} // '.';
	return "$root/../shared/datasets";
}

# Path of a data set file, or skip the whole test file saying why.
sub need_dataset
{
	my ($relative) = @_;
	my $path = datasets_dir() . "/$relative";
	plan skip_all => "data set $relative not found under " . datasets_dir()
	  . " (set SEGMENT_DATASETS): skipped"
	  unless -r $path;
	return $path;
}

# Load the first $columns whitespace-separated fields of each data line of
# $path (CRLF or LF; lines not starting with a digit, such as headers, are
# skipped) into an existing table through COPY FROM STDIN.
sub load_whitespace_table
{
	my ($node, $table, $path, $columns) = @_;
	open my $fh, '<', $path or die "$path: $!";
	my @rows;
	while (my $line = <$fh>)
	{
		$line =~ s/\r?\n$//;
		$line =~ s/^\s+//;
		next unless $line =~ /^\d/;
		push @rows, join("\t", (split /\s+/, $line)[0 .. $columns - 1]);
	}
	close $fh;
	$node->safe_psql('postgres', "COPY $table FROM STDIN;\n" . join("\n", @rows) . "\n\\.\n");
	return scalar @rows;
}

# Rows of a simple comma-separated file (header dropped, CRLF tolerated,
# no quoting) as lists of fields.
sub csv_rows
{
	my ($path) = @_;
	open my $fh, '<', $path or die "$path: $!";
	local $/;
	my $text = <$fh>;
	close $fh;
	my @lines = grep { $_ ne '' } split /\r?\n/, $text;
	shift @lines;
	return map { [ split /,/, $_ ] } @lines;
}

# Load a simple comma-separated file with a header line into an existing
# table through COPY FROM STDIN.
sub load_csv_table
{
	my ($node, $table, $path) = @_;
	my @rows = map { join("\t", @$_) } csv_rows($path);
	$node->safe_psql('postgres', "COPY $table FROM STDIN;\n" . join("\n", @rows) . "\n\\.\n");
	return scalar @rows;
}

1;
