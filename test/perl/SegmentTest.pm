# test/perl/SegmentTest.pm -- shared set-up for segment's TAP tests.
package SegmentTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(segment_node datasets_dir need_dataset);

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

1;
