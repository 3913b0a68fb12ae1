// Live tests of how ckpt is used over time: repeated checkpoints, dumps that
// leave the process running or stopped, what `info` shows, and the image as
// a core file for gdb and readelf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Lab, compile, run, waitTick, waitGone, lastTick, ticks, tail, readLog, lines, assertCounter, describeRun, isAlive,
  tracerOf, procState, until, type Background,
} from './harness.js';

const T = { timeout: 120_000 };

test('one program checkpointed and restored 5 times in a row: the counter continues each time', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('counter'));
  const img = lab.path('counter.ckpt');
  let bg: Background | undefined;
  let at = 0;
  const dumpedAt: number[] = [];
  for (let round = 1; round <= 5; round++) {
    if (bg) await lab.waitTickWhile(bg, w.log, at + 3);
    else await waitTick(w.log, at + 3);
    await lab.ckptOk(['dump', String(w.pid), '-o', img, '--kill']);
    if (bg) {
      // The previous foreground restore ends with its program: killed by SIGKILL.
      const r = await lab.finish(bg);
      assert.equal(r.code, 128 + 9, describeRun(bg.args, r));
    }
    await waitGone(w.pid);
    at = lastTick(w.log);
    dumpedAt.push(at);
    bg = lab.ckptBackground(['restore', img]);
    lab.own(w.pid, w.cmd);
  }
  await lab.waitTickWhile(bg!, w.log, at + 3);
  lab.stop();
  const r = await lab.finish(bg!);
  assert.equal(r.code, 0, describeRun(bg!.args, r));
  assertCounter(w.log, at + 4);
  t.diagnostic(`checkpoints at ticks ${dumpedAt.join(', ')}`);
  assert.deepEqual(lab.files(), ['STOP', 'counter.ckpt', 'out.log'], 'one image, overwritten each time; no temp files');
});

test('dump leaving the process running: the original is unaffected; the image restores after it exits', T, async (t) => {
  const lab = Lab.create(t);
  // stdout O_APPEND: what the original and then the restored program write both stay in the log.
  const w = await lab.start(await compile('counter'), [], { append: true });
  await waitTick(w.log, 5);
  const before = lastTick(w.log);
  const d = await lab.ckptOk(['dump', String(w.pid), '-o', lab.path('img.ckpt'), '--json']);
  const after = lastTick(w.log);
  const res = JSON.parse(d.stdout);
  assert.equal(res.pid, w.pid);
  assert.equal(res.leave, 'running');
  // The original goes on, untraced and not stopped, counting without a gap.
  assert.ok(isAlive(w.pid));
  assert.equal(tracerOf(w.pid), 0, 'ckpt detached');
  assert.notEqual(procState(w.pid), 'T', 'not left stopped');
  await waitTick(w.log, after + 10);
  assertCounter(w.log, after + 11);
  // The original ends; then the image comes back to life and goes on from the checkpoint.
  process.kill(w.pid, 'SIGKILL');
  await w.exited;
  await waitGone(w.pid);
  const origEnd = lastTick(w.log);
  const origLines = ticks(w.log).length;
  const bg = lab.ckptBackground(['restore', lab.path('img.ckpt')]);
  lab.own(w.pid, w.cmd);
  await until('5 ticks of the restored program', () => {
    if (bg.ended) throw new Error(describeRun(bg.args, bg.ended));
    return ticks(w.log).length >= origLines + 5;
  }, { detail: () => tail(w.log) });
  lab.stop();
  const r = await lab.finish(bg);
  assert.equal(r.code, 0, describeRun(bg.args, r) + tail(w.log));
  const all = ticks(w.log);
  const orig = all.slice(0, origLines);
  const restored = all.slice(origLines);
  assert.deepEqual(orig, Array.from({ length: origEnd + 1 }, (_, i) => i));
  const first = restored[0];
  assert.ok(first >= before + 1 && first <= after + 1, `the restored counter starts at ${first}, the checkpoint was taken between ticks ${before} and ${after}`);
  restored.forEach((v, i) => assert.equal(v, first + i, `restored tick #${i}\n${tail(w.log, 60)}`));
  assert.match(readLog(w.log), /^done$/m);
});

test('dump --stop leaves the process stopped; SIGCONT lets it go on', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('counter'));
  await waitTick(w.log, 3);
  await lab.ckptOk(['dump', String(w.pid), '-o', lab.path('img.ckpt'), '--stop']);
  await until('the process stopped', () => procState(w.pid) === 'T');
  assert.equal(tracerOf(w.pid), 0, 'ckpt detached');
  const at = lastTick(w.log);
  process.kill(w.pid, 'SIGCONT');
  await waitTick(w.log, at + 3);
  lab.stop();
  assert.deepEqual(await w.exited, { code: 0, signal: null });
  assertCounter(w.log, at + 4);
});

/** A counter, checkpointed into img.ckpt with --kill. */
async function counterImage(lab: Lab) {
  const bin = await compile('counter');
  const w = await lab.start(bin);
  await waitTick(w.log, 3);
  const img = lab.path('img.ckpt');
  await lab.dumpKill(w.pid, img);
  return { bin, w, img };
}

test('ckpt info and info --json show the pid, memory regions and file descriptors', T, async (t) => {
  const lab = Lab.create(t);
  const { bin, w, img } = await counterImage(lab);

  const text = await lab.ckptOk(['info', img]);
  assert.match(text.stdout, new RegExp(`PID ${w.pid}\\b`));
  assert.ok(text.stdout.includes(bin), `the program ${bin} is named:\n${text.stdout}`);
  assert.match(text.stdout, /\[stack\]/);
  assert.ok(text.stdout.includes(w.log), `the log file (fd 1) is listed:\n${text.stdout}`);
  assert.match(text.stdout, /\/dev\/null/);

  const j = JSON.parse((await lab.ckptOk(['info', img, '--json'])).stdout);
  assert.equal(j.process.pid, w.pid);
  assert.equal(j.process.exe, bin);
  assert.equal(j.threads.length, 1);
  assert.equal(j.threads[0].tid, w.pid);
  assert.ok(j.memory.length >= 5, 'several memory regions');
  const names = j.memory.map((m: any) => m.name);
  assert.ok(names.includes('[stack]'), names.join(' '));
  assert.ok(names.includes(bin), names.join(' '));
  assert.ok(names.some((n: string) => /libc[.-]/.test(n)), names.join(' '));
  for (const m of j.memory) assert.match(m.start, /^0x[0-9a-f]+$/);
  assert.ok(j.memory.find((m: any) => m.name === '[stack]').savedBytes > 0, 'the stack is saved');
  assert.deepEqual(j.files.map((f: any) => f.fd), [0, 1, 2]);
  assert.equal(j.files[0].kind, 'chardev');
  assert.equal(j.files[1].kind, 'file');
  assert.ok(j.files[1].description.includes(w.log), j.files[1].description);
  assert.equal(j.files[2].kind, 'dup', 'stderr shares stdout\'s open file');

  const v = await lab.ckptOk(['info', img, '--verify']);
  assert.match(v.stdout, /all checksums verified/);
});

test('the image is a core file: gdb shows the backtrace, readelf reads it', T, async (t) => {
  const lab = Lab.create(t);
  const { bin, w, img } = await counterImage(lab);

  const gdb = await run('gdb', ['-nx', '-batch', '-iex', 'set debuginfod enabled off', '-ex', 'bt', bin, img], { cwd: lab.dir });
  const out = gdb.stdout + gdb.stderr;
  assert.match(out, /\btick_forever_workload\b/, `gdb's backtrace names the workload's function:\n${out}`);
  assert.match(out, /\bmain\b/, out);
  assert.match(out, /\bnap_ms\b/, out);

  const all = await run('readelf', ['-a', img]);
  assert.equal(all.code, 0, `readelf -a: ${all.stderr}`);
  assert.doesNotMatch(all.stderr, /Error/i, all.stderr);
  assert.match(all.stdout, /Type:\s+CORE/);
  assert.match(all.stdout, /LOAD/);
  const notes = await run('readelf', ['-n', img]);
  assert.equal(notes.code, 0, notes.stderr);
  assert.match(notes.stdout, /NT_PRSTATUS/);
  assert.match(notes.stdout, /NT_FILE/);
  assert.deepEqual(lines(w.log).slice(0, 1), ['tick 0']);
});
