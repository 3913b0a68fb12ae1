// Bad input: each case must end in a clear message on stderr and its exit
// code, with nothing left behind (no image, no `.NAME.tmp-*` file), the
// target still running when a dump fails, and no process created when a
// restore fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, openSync, readFileSync, readSync, writeSync, closeSync, truncateSync, statSync, writeFileSync, utimesSync, readdirSync } from 'node:fs';
import {
  Lab, EXIT, CKPT, compile, run, waitTick, waitGone, waitLine, lastTick, tail, assertCounter, describeRun, isAlive, tracerOf,
  procState, until, type RunResult,
} from './harness.js';

const T = { timeout: 120_000 };
const PF_KTHREAD = 0x00200000;

function expectError(args: string[], r: RunResult, code: number, message: RegExp): void {
  const what = describeRun(args, r);
  assert.equal(r.code, code, what);
  assert.match(r.stderr, /^ckpt: /m, `a message on stderr: ${what}`);
  assert.match(r.stderr, message, what);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, `a clear message, not a stack trace: ${what}`);
}

async function ckptFails(lab: Lab, args: string[], code: number, message: RegExp, cwd?: string): Promise<RunResult> {
  const r = await lab.ckpt(args, { cwd });
  expectError(args, r, code, message);
  return r;
}

/** The target was not harmed: not traced, not stopped, and still counting. */
async function assertUnharmed(pid: number, log: string): Promise<void> {
  assert.ok(isAlive(pid), `process ${pid} still runs`);
  assert.equal(tracerOf(pid), 0, 'ckpt let go of the process');
  assert.notEqual(procState(pid), 'T', 'the process is not left stopped');
  await waitTick(log, lastTick(log) + 5);
}

/** A PID nobody has. */
function freePid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (let p = max - 1; p > 1; p--) if (!existsSync(`/proc/${p}`)) return p;
  throw new Error('no free PID');
}

// ---------------------------------------------------------------------------
// dump

test('dump of an unknown PID: NO_SUCH_PROCESS (3), nothing written', T, async (t) => {
  const lab = Lab.create(t);
  const pid = freePid();
  await ckptFails(lab, ['dump', String(pid)], EXIT.NO_SUCH_PROCESS, new RegExp(`\\b${pid}\\b`));
  await ckptFails(lab, ['dump', String(pid), '-o', lab.path('x.ckpt'), '--kill'], EXIT.NO_SUCH_PROCESS, new RegExp(`\\b${pid}\\b`));
  assert.deepEqual(lab.files(), []);
});

test('dump with a PID that is not a number: USAGE (2)', T, async (t) => {
  const lab = Lab.create(t);
  await ckptFails(lab, ['dump', 'abc'], EXIT.USAGE, /abc/);
  await ckptFails(lab, ['dump', '0'], EXIT.USAGE, /\b0\b/);
  assert.deepEqual(lab.files(), []);
});

test('dump of PID 1 (the init of a fresh PID namespace): refused with a clear error, nothing written', T, async (t) => {
  const lab = Lab.create(t);
  // PID 1 of a new PID namespace (a shell that waits for ckpt), so that the
  // host's init is never a target even if the refusal were broken.
  const probe = await run('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  if (probe.code !== 0) {
    t.skip(`cannot create a PID namespace here: ${probe.stderr.trim()}`);
    return;
  }
  const args = ['--pid', '--fork', '--mount-proc', 'sh', '-c', 'cd "$3" && "$0" "$1" dump 1 -o "$2"; exit $?', process.execPath, CKPT, lab.path('init.ckpt'), lab.dir];
  const r = await run('unshare', args, { cwd: lab.dir });
  expectError(['dump', '1'], r, EXIT.PERMISSION, /\bPID 1\b/);
  assert.deepEqual(lab.files(), []);
});

test('dump of a kernel thread: refused with a clear error, nothing written', T, async (t) => {
  const lab = Lab.create(t);
  const kthread = kernelThread();
  assert.ok(kthread, 'a Linux system always runs kernel threads (kthreadd at least)');
  await ckptFails(lab, ['dump', String(kthread)], EXIT.PERMISSION, /kernel thread/);
  await ckptFails(lab, ['dump', String(kthread), '-o', lab.path('k.ckpt'), '--kill'], EXIT.PERMISSION, /kernel thread/);
  assert.deepEqual(lab.files(), []);
  assert.equal(procState(kthread) !== undefined, true);
});

/** A kernel thread's PID (flag PF_KTHREAD in /proc/PID/stat), the lowest one. */
function kernelThread(): number | undefined {
  const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  return pids.find((pid) => {
    try {
      return (Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[6]) & PF_KTHREAD) !== 0;
    } catch {
      return false;
    }
  });
}

test('dump of a process holding a socket: KIND_UNSUPPORTED (5), the process keeps running, nothing written', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('counter'), ['--socket']);
  const fd = (await waitLine(w.log, /^socket fd (\d+)$/))[1];
  await waitTick(w.log, 3);
  // Without -o the image would be counter.ckpt in the current directory.
  await ckptFails(lab, ['dump', String(w.pid)], EXIT.KIND_UNSUPPORTED, new RegExp(`fd ${fd}\\b.*socket`));
  await ckptFails(lab, ['dump', String(w.pid), '--kill'], EXIT.KIND_UNSUPPORTED, /socket/);
  await ckptFails(lab, ['dump', String(w.pid), '--stop', '-o', lab.path('s.ckpt')], EXIT.KIND_UNSUPPORTED, /socket/);
  await assertUnharmed(w.pid, w.log);
  assert.deepEqual(lab.files(), ['out.log']);
  lab.stop();
  assert.deepEqual(await w.exited, { code: 0, signal: null });
  assertCounter(w.log, 8);
});

test('dump of a zombie: TARGET_GONE (6)', T, async (t) => {
  const lab = Lab.create(t);
  // The background child exits; its parent (now `sleep`) never reaps it.
  const w = await lab.start('/bin/sh', ['-c', 'sleep 0 & echo "child $!"; exec sleep 60']);
  const zombie = Number((await waitLine(w.log, /^child (\d+)$/))[1]);
  await until(`PID ${zombie} a zombie`, () => procState(zombie) === 'Z');
  await ckptFails(lab, ['dump', String(zombie), '-o', lab.path('z.ckpt')], EXIT.TARGET_GONE, new RegExp(`\\b${zombie}\\b`));
  assert.deepEqual(lab.files(), ['out.log']);
});

test('dump into a directory that does not exist: IO (12), the process keeps running', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('counter'));
  await waitTick(w.log, 3);
  await ckptFails(lab, ['dump', String(w.pid), '-o', lab.path('no/such/dir/x.ckpt'), '--kill'], EXIT.IO, /no\/such\/dir/);
  await assertUnharmed(w.pid, w.log);
  assert.deepEqual(lab.files(), ['out.log']);
});

// ---------------------------------------------------------------------------
// restore and info

/** A counter checkpointed with --kill and gone; returns its image. */
async function killedCounter(lab: Lab, program = 'counter', args: string[] = []) {
  const w = await lab.start(await compile(program), args);
  await waitTick(w.log, 3);
  const image = lab.path('img.ckpt');
  await lab.dumpKill(w.pid, image);
  return { w, image };
}

/** After a failed restore: the PID was never brought back, and nothing was added to the directory. */
async function assertNotRestored(lab: Lab, pid: number, files: string[]): Promise<void> {
  assert.equal(procState(pid), undefined, `PID ${pid} must not exist after a failed restore`);
  assert.deepEqual(lab.files(), files);
}

test('restore of a missing image: IMAGE_NOT_FOUND (9)', T, async (t) => {
  const lab = Lab.create(t);
  await ckptFails(lab, ['restore', lab.path('nope.ckpt')], EXIT.IMAGE_NOT_FOUND, /nope\.ckpt/);
  await ckptFails(lab, ['info', lab.path('nope.ckpt')], EXIT.IMAGE_NOT_FOUND, /nope\.ckpt/);
  assert.deepEqual(lab.files(), []);
});

test('restore of a file that is not an image: IMAGE_CORRUPT (7)', T, async (t) => {
  const lab = Lab.create(t);
  writeFileSync(lab.path('junk.ckpt'), 'this is not an ELF core file\n'.repeat(100));
  await ckptFails(lab, ['restore', lab.path('junk.ckpt')], EXIT.IMAGE_CORRUPT, /junk\.ckpt/);
  await ckptFails(lab, ['info', lab.path('junk.ckpt')], EXIT.IMAGE_CORRUPT, /junk\.ckpt/);
  // An ELF file, but no core file, let alone a ckpt image.
  const bin = await compile('counter');
  await ckptFails(lab, ['restore', bin], EXIT.IMAGE_CORRUPT, /counter/);
});

test('restore of a truncated image: IMAGE_CORRUPT (7), no process created', T, async (t) => {
  const lab = Lab.create(t);
  const { w, image } = await killedCounter(lab);
  const size = statSync(image).size;
  const logBefore = readFileSync(w.log, 'utf8');
  truncateSync(image, Math.floor(size / 2));
  await ckptFails(lab, ['restore', image], EXIT.IMAGE_CORRUPT, /img\.ckpt/);
  await assertNotRestored(lab, w.pid, ['img.ckpt', 'out.log']);
  await ckptFails(lab, ['info', image], EXIT.IMAGE_CORRUPT, /img\.ckpt/);
  // Nothing left at all.
  truncateSync(image, 0);
  await ckptFails(lab, ['restore', image], EXIT.IMAGE_CORRUPT, /img\.ckpt/);
  await assertNotRestored(lab, w.pid, ['img.ckpt', 'out.log']);
  assert.equal(readFileSync(w.log, 'utf8'), logBefore, 'the program never ran again');
});

test('restore of an image missing only its last byte: IMAGE_CORRUPT (7)', T, async (t) => {
  const lab = Lab.create(t);
  const { w, image } = await killedCounter(lab);
  truncateSync(image, statSync(image).size - 1);
  await ckptFails(lab, ['restore', image], EXIT.IMAGE_CORRUPT, /img\.ckpt/);
  await assertNotRestored(lab, w.pid, ['img.ckpt', 'out.log']);
});

/** The largest PT_LOAD segment with data in the file (an ELF64 core). */
function largestLoad(image: string): { offset: number; size: number } {
  const fd = openSync(image, 'r');
  try {
    const eh = Buffer.alloc(64);
    readSync(fd, eh, 0, 64, 0);
    const phoff = Number(eh.readBigUInt64LE(32));
    const phnum = eh.readUInt16LE(56);
    const ph = Buffer.alloc(56 * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    let best = { offset: 0, size: 0 };
    for (let i = 0; i < phnum; i++) {
      const at = i * 56;
      if (ph.readUInt32LE(at) !== 1 /* PT_LOAD */) continue;
      const size = Number(ph.readBigUInt64LE(at + 32));
      if (size > best.size) best = { offset: Number(ph.readBigUInt64LE(at + 8)), size };
    }
    return best;
  } finally {
    closeSync(fd);
  }
}

// Small images are verified before the process is created, large ones while
// it is being built: both must fail before the program runs a single instruction.
for (const mib of [8, 80]) {
  test(`restore of an image (${mib} MiB heap) with a flipped byte in page data: IMAGE_CORRUPT (7) before anything runs`, T, async (t) => {
    const lab = Lab.create(t);
    const { w, image } = await killedCounter(lab, 'heap', [String(mib << 20)]);
    const load = largestLoad(image);
    assert.ok(load.size >= mib << 20, `the heap is saved as one segment (largest: ${load.size} bytes)`);
    const at = load.offset + Math.floor(load.size / 2);
    const fd = openSync(image, 'r+');
    try {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, at);
      b[0] ^= 0x01;
      writeSync(fd, b, 0, 1, at);
    } finally {
      closeSync(fd);
    }
    const logBefore = readFileSync(w.log, 'utf8');
    await ckptFails(lab, ['restore', image], EXIT.IMAGE_CORRUPT, /checksum/);
    await assertNotRestored(lab, w.pid, ['img.ckpt', 'out.log']);
    // Had the program run at all, it would have written its next tick.
    assert.equal(readFileSync(w.log, 'utf8'), logBefore, 'the restored program must not have run');
    await ckptFails(lab, ['info', image, '--verify'], EXIT.IMAGE_CORRUPT, /checksum/);
    // The same again with --json: the error as JSON on stdout, same exit code.
    const r = await lab.ckpt(['restore', image, '--json']);
    assert.equal(r.code, EXIT.IMAGE_CORRUPT, describeRun(['restore', '--json'], r));
    assert.equal(JSON.parse(r.stdout).error.code, 'IMAGE_CORRUPT');
    await assertNotRestored(lab, w.pid, ['img.ckpt', 'out.log']);
    assert.equal(readFileSync(w.log, 'utf8'), logBefore, 'the restored program must not have run');
  });
}

test('restore when a privately mapped file changed: FILE_CHANGED (10) naming the file', T, async (t) => {
  const lab = Lab.create(t);
  const data = lab.path('data.bin');
  const shared = lab.path('shared.bin');
  const bytes = Buffer.alloc(16 * 4096);
  for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 7) % 251;
  writeFileSync(data, bytes);
  writeFileSync(shared, Buffer.alloc(3 * 4096));
  const { w, image } = await killedCounter(lab, 'mmapfile', [data, shared]);
  // Same size, other content, and surely another modification time.
  bytes[5 * 4096 + 17] ^= 0xff;
  writeFileSync(data, bytes);
  const later = new Date(Date.now() + 60_000);
  utimesSync(data, later, later);
  await ckptFails(lab, ['restore', image], EXIT.FILE_CHANGED, new RegExp(data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  await assertNotRestored(lab, w.pid, ['data.bin', 'img.ckpt', 'out.log', 'shared.bin']);
});

test('restore while the original still runs: PID_TAKEN (11), "PID N is in use by ..."', T, async (t) => {
  const lab = Lab.create(t);
  const bin = await compile('counter');
  const w = await lab.start(bin);
  await waitTick(w.log, 3);
  await lab.ckptOk(['dump', String(w.pid), '-o', lab.path('img.ckpt')]);
  await ckptFails(lab, ['restore', lab.path('img.ckpt')], EXIT.PID_TAKEN, new RegExp(`PID ${w.pid} is in use by .*counter`));
  await assertUnharmed(w.pid, w.log);
  assert.deepEqual(lab.files(), ['img.ckpt', 'out.log']);
  lab.stop();
  assert.deepEqual(await w.exited, { code: 0, signal: null });
  assertCounter(w.log, 8);
  // And once the original is gone, the same image restores fine.
  await waitGone(w.pid);
  const r = await lab.ckpt(['restore', lab.path('img.ckpt')]);
  lab.own(w.pid, bin);
  assert.equal(r.code, 0, describeRun(['restore'], r) + tail(w.log));
});
