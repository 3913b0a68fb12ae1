# A Perl counter: "tick N" every 20 ms until $STOP_FILE exists. A hash of
# values must be intact at the end.
use strict;
use warnings;

$| = 1;
my $stop = $ENV{STOP_FILE} or die "STOP_FILE not set";
my %h = map { ($_ => $_ * 3) } 1 .. 50_000;
my $i = 0;
until (-e $stop) {
    print "tick $i\n";
    $i++;
    select(undef, undef, undef, 0.02);
}
for my $k (1 .. 50_000) {
    if ($h{$k} != $k * 3) { print "FAIL: hash entry $k\n"; exit 1; }
}
print "verified hash\n";
print "done\n";
