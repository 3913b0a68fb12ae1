// The DragonFly experience: `ckpt run`, the checkpoint signals, `ckpt
// signal`, image templates, and freeze() for C and Node.js programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, chmodSync, readdirSync, symlinkSync, copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, compile, waitLine, waitTick, until, waitGone, readLog, lastTick, run, tail, EXIT, CKPT, WORKLOADS, assertCounter } from './harness.js';

const T = { timeout: 180_000 };
const SIGCKPT = 63;
const SIGCKPTEXIT = 64;
const INCLUDE = fileURLToPath(new URL('../../../include/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The workload under `ckpt run`, with its output in `log` (sh execs it: same PID). */
function runUnderCkpt(lab: Lab, cmd: string, args: string[], log: string, extra: string[] = []) {
  const quoted = [cmd, ...args].map((a) => `'${a}'`).join(' ');
  return lab.ckptBackground(['run', ...extra, '--', '/bin/sh', '-c', `STOP_FILE='${lab.stopFile}' exec ${quoted} > '${log}' 2>&1`]);
}

async function pidOf(lab: Lab, log: string, exe: string): Promise<number> {
  await waitTick(log, 1);
  const r = await run('pgrep', ['-f', `^${exe}`]);
  const pid = Number(r.stdout.trim().split('\n')[0]);
  assert.ok(pid > 0, `no process for ${exe}`);
  lab.own(pid, exe);
  return pid;
}

/** `prog` under `ckpt run`, its output in out.log, once it ticks. */
async function startUnderCkpt(lab: Lab, prog: string, extra: string[] = []) {
  const log = lab.path('out.log');
  const bg = runUnderCkpt(lab, prog, [], log, extra);
  return { prog, log, bg, pid: await pidOf(lab, log, prog) };
}

async function compileWithHeader(name: string): Promise<string> {
  const out = join(await import('node:os').then((os) => os.tmpdir()), `ckpt-live-${name}-${process.pid}`);
  const r = await run('gcc', ['-O0', '-Wall', '-Werror', `-I${INCLUDE}`, `-I${WORKLOADS}`, '-o', out, join(WORKLOADS, `${name}.c`)]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

/** The one image a test produced in its lab. */
function onlyImage(lab: Lab): string {
  const images = readdirSync(lab.dir).filter((f) => f.endsWith('.ckpt'));
  assert.equal(images.length, 1, `images: ${images}`);
  return join(lab.dir, images[0]);
}

/** Stop the original (it checks itself and exits), then restore `image` in the foreground. */
async function restoreAfterStopping(lab: Lab, w: { exited: Promise<unknown> }, image: string) {
  lab.stop();
  await w.exited;
  rmSync(lab.stopFile);
  return lab.ckptBackground(['restore', image]);
}

/** A Node.js workload in the lab that imports 'ckpt' like any user of the package. */
function usingCkptPackage(lab: Lab, workload: string): string {
  mkdirSync(lab.path('node_modules'));
  symlinkSync(ROOT, lab.path('node_modules/ckpt'));
  copyFileSync(join(WORKLOADS, workload), lab.path(workload));
  return lab.path(workload);
}

test('ckpt signals prints both signals', async () => {
  const r = await run(process.execPath, [CKPT, 'signals', '--json']);
  assert.deepEqual(JSON.parse(r.stdout), { SIGCKPT, SIGCKPTEXIT });
});

test('ckpt run: SIGCKPT checkpoints a program with no handler, which goes on; the image restores', T, async (t) => {
  const lab = Lab.create(t);
  const { prog, log, bg, pid } = await startUnderCkpt(lab, await compile('counter'));
  await waitTick(log, 3);
  process.kill(pid, SIGCKPT); // plain kill, from anywhere
  const image = lab.path('counter.ckpt'); // %N.ckpt in the program's directory
  await until('the image', () => existsSync(image));
  await until('the notice', () => /checkpointed to .*counter\.ckpt/.test(bg.ended?.stderr ?? '') || undefined, { timeoutMs: 5000 }).catch(() => undefined);
  const at = lastTick(log);
  await waitTick(log, at + 3); // it goes on
  lab.stop();
  const r = await lab.finish(bg);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`PID ${pid} checkpointed to ${image.replace(/[.]/g, '\\.')}`));
  assertCounter(log, at + 3);
  // The image restores: the counter goes back to where it was checkpointed.
  rmSync(lab.stopFile);
  await lab.restoreDetached(image, prog);
  await until('the restored program to tick again', () => /tick \d+\n.*tick \d+\n?$/s.test(readLog(log)) || undefined);
  lab.stop();
  await waitGone(pid);
});

test('ckpt signal --exit: the program ends only once its image is complete', T, async (t) => {
  const lab = Lab.create(t);
  const { log, bg, pid } = await startUnderCkpt(lab, await compile('counter'), ['--image', lab.path('%N-%P.ckpt')]);
  await lab.ckptOk(['signal', '--exit', String(pid)]);
  const r = await lab.finish(bg);
  assert.equal(r.code, 128 + SIGCKPTEXIT, r.stderr);
  const image = lab.path(`counter-${pid}.ckpt`);
  assert.match(r.stderr, /it has ended/);
  assert.ok(existsSync(image));
  const dumpedAt = lastTick(log);
  await lab.ckptOk(['info', image, '--verify']);
  const restore = lab.ckptBackground(['restore', image]);
  await lab.waitTickWhile(restore, log, dumpedAt + 3);
  // A restored program is supervised again: the signal checkpoints it, it goes on.
  await lab.ckptOk(['signal', String(pid)]);
  await until('a checkpoint of the restored program', () => existsSync(lab.path('counter.ckpt')) || undefined);
  await lab.waitTickWhile(restore, log, lastTick(log) + 2);
  lab.stop();
  const rr = await lab.finish(restore);
  assert.equal(rr.code, 0);
  assert.match(rr.stderr, new RegExp(`PID ${pid} checkpointed to .*counter\\.ckpt`));
});

test('a C program with a SIGCKPT handler calling ckpt_freeze() sees 0, then 1 after restore', T, async (t) => {
  const lab = Lab.create(t);
  const { log, bg, pid } = await startUnderCkpt(lab, await compileWithHeader('freezer'));
  await lab.ckptOk(['signal', String(pid)]);
  await waitLine(log, /^freeze 0 errno 0$/);
  const image = onlyImage(lab);
  assert.match(readLog(log), /preparing/);
  await waitTick(log, lastTick(log) + 2);
  const restore = await restoreAfterStopping(lab, { exited: lab.finish(bg).then((r) => assert.equal(r.code, 0)) }, image);
  await until('freeze to return 1 in the restored copy', () => /^freeze 1 errno 0$/m.test(readLog(log)) || undefined, { detail: () => tail(log) });
  // Checkpointed again, by its restore's supervision this time.
  const before = (readLog(log).match(/^freeze 0 errno 0$/gm) ?? []).length;
  await lab.ckptOk(['signal', String(pid)]);
  await until('a second freeze to return 0', () => (readLog(log).match(/^freeze 0 errno 0$/gm) ?? []).length > before || undefined, { detail: () => tail(log) });
  lab.stop();
  assert.equal((await lab.finish(restore)).code, 0);
});

test('ckpt_freeze() without ckpt run starts ckpt itself', T, async (t) => {
  const lab = Lab.create(t);
  const prog = await compileWithHeader('freezer');
  const w = await lab.start(prog, [], { env: { CKPT: CKPT, PATH: `${process.execPath.replace(/\/[^/]+$/, '')}:${process.env.PATH}` } });
  await waitTick(w.log, 2);
  process.kill(w.pid, SIGCKPT); // its own handler asks for the freeze
  await waitLine(w.log, /^freeze 0 errno 0$/);
  const restore = await restoreAfterStopping(lab, w, onlyImage(lab));
  await until('freeze to return 1', () => /^freeze 1 errno 0$/m.test(readLog(w.log)) || undefined, { detail: () => tail(w.log) });
  lab.stop();
  assert.equal((await lab.finish(restore)).code, 0);
});

test('a Node.js program using freeze() and the hooks sees checkpointed, then restored with its onRestore hook run', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(process.execPath, [usingCkptPackage(lab, 'freezer.mjs')]);
  await waitLine(w.log, /^freeze checkpointed counter 42 connection closed$/);
  assert.match(readLog(w.log), /^hook checkpoint$/m);
  const restore = await restoreAfterStopping(lab, w, onlyImage(lab));
  await until('the restored copy', () => /^freeze restored counter 42 connection reopened$/m.test(readLog(w.log)) || undefined, { detail: () => tail(w.log) });
  assert.match(readLog(w.log), /^hook restore$/m);
  lab.stop();
  assert.equal((await lab.finish(restore)).code, 0);
});

test('a Node.js program with onCheckpoint hooks: ckpt dump and the signal run them first; restore runs onRestore', T, async (t) => {
  const lab = Lab.create(t);
  // Started on its own: `ckpt dump` asks it, it runs its hook, then checkpoints.
  const w = await lab.start(process.execPath, [usingCkptPackage(lab, 'hooks.mjs')]);
  await waitTick(w.log, 3);
  const image = lab.path('hooks.ckpt');
  await lab.ckptOk(['dump', String(w.pid), '-o', image]);
  assert.match(readLog(w.log), /^hook checkpoint at tick \d+$/m);
  await waitTick(w.log, lastTick(w.log) + 2); // and goes on
  const restore = await restoreAfterStopping(lab, w, image);
  await until('onRestore in the restored copy', () => /^hook restore at tick \d+$/m.test(readLog(w.log)) || undefined, { detail: () => tail(w.log) });
  // Under the restore's supervision, the signal also goes through the hooks.
  const hooksBefore = (readLog(w.log).match(/^hook checkpoint/gm) ?? []).length;
  await lab.ckptOk(['signal', String(w.pid)]);
  await until('the hook again, for the signal', () => (readLog(w.log).match(/^hook checkpoint/gm) ?? []).length > hooksBefore || undefined, { detail: () => tail(w.log) });
  await until('the image of that checkpoint', () => /checkpointed to/.test(restore.ended?.stderr ?? '') || existsSync(lab.path('node.ckpt')) || undefined);
  lab.stop();
  assert.equal((await lab.finish(restore)).code, 0);
});

test('bad input: ckpt signal to a PID not under ckpt, a bad image template', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('counter'));
  await waitTick(w.log, 2);
  const r = await lab.ckpt(['signal', String(w.pid)]);
  assert.equal(r.code, EXIT.USAGE, r.stderr);
  assert.match(r.stderr, /not running under ckpt/);
  const at = lastTick(w.log);
  await waitTick(w.log, at + 2); // unharmed
  const locked = lab.path('locked');
  mkdirSync(locked);
  chmodSync(locked, 0o500);
  const r2 = await lab.ckpt(['run', '--image', '/nonexistent-dir/%N.ckpt', '--', '/bin/true']);
  assert.equal(r2.code, EXIT.IO, r2.stderr);
  assert.match(r2.stderr, /cannot write images into \/nonexistent-dir/);
  const r3 = await lab.ckpt(['run', '--image', '%Q.ckpt', '--', '/bin/true']);
  assert.equal(r3.code, EXIT.USAGE, r3.stderr);
  const r4 = await lab.ckpt(['run', '--', '/no/such/program']);
  assert.notEqual(r4.code, 0);
  lab.stop();
  await w.exited;
});
