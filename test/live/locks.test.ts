// File locks survive a checkpoint: a flock lock, a POSIX range lock and an
// OFD lock are held again by the restored process (another process cannot
// take them), and a lock someone else took in the meantime makes the restore
// fail cleanly, nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Lab, WORKLOADS, EXIT, python3, run, until, lastTick, waitGone, describeRun, isAlive } from './harness.js';

const T = { timeout: 180_000 };

test('flock, POSIX and OFD locks are held again after restore; a lock taken meanwhile fails the restore cleanly', T, async (t) => {
  const lab = Lab.create(t);
  const py = await python3();
  const w = await lab.start(py, ['-u', join(WORKLOADS, 'locks.py')], { extraFd: 7 });
  await until('the locks to be taken', () => lastTick(w.log) >= 3);
  const tryLocks = async () => (await run(py, [join(WORKLOADS, 'trylocks.py')], { cwd: lab.dir })).stdout.trim();
  assert.equal(await tryLocks(), 'flock held posix held ofd held', 'held by the original');
  const img = lab.path('locks.ckpt');
  await lab.busy(() => lab.ckptOk(['dump', String(w.pid), '--kill', '-o', img]));
  await waitGone(w.pid);
  assert.equal(await tryLocks(), 'flock free posix free ofd free', 'released when the original died');

  // Someone takes one of the locks: the restore must fail, naming it, and leave nothing.
  const blocker = await lab.start(py, ['-c', "import fcntl,time; f=open('lk-posix','w'); fcntl.lockf(f, fcntl.LOCK_EX, 1, 12); print('tick 0', flush=True); time.sleep(600)"], { log: lab.path('blocker.log') });
  await until('the blocker to hold its lock', () => lastTick(blocker.log) >= 0);
  const refused = await lab.ckpt(['restore', img, '--detach']);
  assert.equal(refused.code, EXIT.FILE_CHANGED, describeRun(['restore'], refused));
  assert.match(refused.stderr, /lock on .*lk-posix.* held by another process/);
  assert.ok(!isAlive(w.pid), 'no half-restored process is left');
  process.kill(blocker.pid, 'SIGKILL');
  await waitGone(blocker.pid);

  const r = await lab.ckptOk(['restore', img, '--detach']);
  lab.own(w.pid, py);
  assert.equal(Number(r.stdout.trim()), w.pid);
  const before = lastTick(w.log);
  await until('the restored program to tick', () => lastTick(w.log) > before + 2);
  assert.equal(await tryLocks(), 'flock held posix held ofd held', 'held again by the restored process');
  writeFileSync(lab.stopFile, '');
  await until('the restored program to finish', () => !isAlive(w.pid));
});
