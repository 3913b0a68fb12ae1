// Exact or refused: state that once came back different without a word now
// comes back as it was (each checked by the workload itself), and the
// restore's own self-check compares every process with the dump's view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, compile, readLog, tail, waitTick } from './harness.js';

const T = { timeout: 120_000 };

test('madvise flags, a shared mapping that may become writable, memfd mode, an eventfd counter, THP and subreaper prctls', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('exact'), [], { extraFd: 5 });
  await lab.roundTrip(w);
  assert.match(readLog(w.log), /^exact ok$/m, tail(w.log));
});

test('capabilities (all five sets) and no_new_privs', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('caps'), [], { extraFd: 6 });
  await lab.roundTrip(w);
  assert.match(readLog(w.log), /^caps ok$/m, tail(w.log));
});

test('a process in seccomp strict mode is refused before anything is done to it', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start('python3', ['-c', [
    'import ctypes, os, sys, time',
    "print('tick 0', flush=True)",
    'libc = ctypes.CDLL(None, use_errno=True)',
    'libc.prctl(22, 1, 0, 0, 0)', // PR_SET_SECCOMP, SECCOMP_MODE_STRICT: only read/write/exit from here
    'os.write(1, b"tick 1\\n")',
    'while True: pass',
  ].join('\n')]);
  await waitTick(w.log, 1);
  const r = await lab.ckpt(['dump', String(w.pid), '-o', lab.path('x.ckpt')]);
  assert.equal(r.code, 5, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /seccomp strict mode/);
  assert.ok((await import('node:fs')).existsSync(`/proc/${w.pid}`), 'the process still runs');
});
