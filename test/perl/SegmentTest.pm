# test/perl/SegmentTest.pm -- shared set-up for segment's TAP tests.
package SegmentTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(segment_node datasets_dir need_dataset load_whitespace_table load_csv_table csv_rows);

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
