# A multiprocessing.Pool of 3 worker processes doing N small jobs (each a
# short sleep and a square), reporting each result twice: as the job's return
# value (through the pool's own pipes and threads) and on a
# multiprocessing.Queue shared by the workers (with its feeder thread).
# The main process prints "tick K" for the K-th result it collects, and at
# the end the totals, checked: "total T ok" and exit 0, or "FAIL: ..." and 1.
#   python3 pool.py N [JOB_MS]
import multiprocessing as mp
import os
import sys
import time

queue = None


def init(q):
    global queue
    queue = q


def work(i):
    time.sleep(job_ms / 1000)
    queue.put((i, i * i, os.getpid()))
    return i * i


n = int(sys.argv[1])
job_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 20


def say(s):
    sys.stdout.write(s + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    ctx = mp.get_context('fork')
    q = ctx.Queue()
    expect = sum(i * i for i in range(n))
    with ctx.Pool(3, initializer=init, initargs=(q,)) as pool:
        say('workers ' + ' '.join(str(p.pid) for p in pool._pool))
        total = 0
        seen = set()
        queued = 0
        workers = set()
        for k, sq in enumerate(pool.imap_unordered(work, range(n), chunksize=1)):
            total += sq
            say(f'tick {k}')
            while not q.empty():
                i, isq, pid = q.get()
                seen.add(i)
                queued += isq
                workers.add(pid)
        while len(seen) < n:
            i, isq, pid = q.get(timeout=30)
            seen.add(i)
            queued += isq
            workers.add(pid)
    if total != expect or queued != expect or seen != set(range(n)):
        say(f'FAIL: total {total} queued {queued} expected {expect}, {len(seen)} distinct jobs')
        sys.exit(1)
    say(f'total {total} ok from {len(workers)} workers')
    say('done')
