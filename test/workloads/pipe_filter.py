# The middle of a pipeline: "seq N ..." lines in, "N N*N" lines out, with
# Python's own buffering on both sides (what it holds is process memory).
import sys

out = sys.stdout
for line in sys.stdin:
    f = line.split()
    if len(f) < 2 or f[0] != 'seq':
        print(f'FAIL: filter got {line!r}', file=sys.stderr, flush=True)
        sys.exit(1)
    n = int(f[1])
    out.write(f'{n} {n * n}\n')
out.flush()
print('filter done', file=sys.stderr, flush=True)
