# A backend that loaded segment (and OpenBLAS) stays single-threaded.
use strict;
use warnings;
use lib 'test/perl';
use SegmentTest;
use Test::More;

plan skip_all => 'needs /proc (Linux)' unless -d '/proc/self';

my $node = segment_node('threads');
# score() lives in segment.so, so this loads the library and OpenBLAS
my $out = $node->safe_psql('postgres',
	q{SELECT segment.score(1, '{2}'), pg_backend_pid()});
my ($score, $pid) = split /\|/, $out;
is($score, 1, 'library loaded and answered');

# pg_backend_pid() of that session is gone; ask a live one instead
my $session = $node->background_psql('postgres');
$session->query_safe(q{SELECT segment.score(1, '{2}')});
my $live_pid = $session->query_safe('SELECT pg_backend_pid()');
chomp $live_pid;
open my $fh, '<', "/proc/$live_pid/status" or die "cannot read /proc/$live_pid/status: $!";
my ($threads) = map { /^Threads:\s+(\d+)/ ? $1 : () } <$fh>;
close $fh;
is($threads, 1, 'backend has exactly one thread after loading OpenBLAS');
$session->quit;

$node->stop;
done_testing();
