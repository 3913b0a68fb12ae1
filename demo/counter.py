#!/usr/bin/env python3
"""The demo's sample program: counts, keeping its state in memory (a dict
and a running total) -- the kind of state a checkpoint must carry."""
import sys, time, os

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 25
seen = {}
total = 0
for i in range(1, limit + 1):
    seen[i] = str(i) * 100
    total += i
    print(f"tick {i} (sum so far {total}, {len(seen)} values remembered, pid {os.getpid()})", flush=True)
    time.sleep(0.2)
print(f"done: sum {total}", flush=True)
