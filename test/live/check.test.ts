// `ckpt check PID`: the preflight lists every thread, fd and memory region
// with what a dump would do, says whether the process can be checkpointed
// (exit 0) or what blocks it (exit 5), and never touches the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import {
  Lab, EXIT, compile, waitTick, waitLine, lastTick, assertCounter, describeRun, isAlive, tracerOf, procState, tail,
} from './harness.js';

const T = { timeout: 120_000 };

interface Report {
  pid: number;
  checkpointable: boolean;
  threads: Array<{ tid: number; name: string; state: string; syscall: number | null; syscallName: string }>;
  fds: Array<{ fd: number; link: string; kind: string | null; action: string; detail: string }>;
  memory: Array<{ start: number; end: number; prot: string; name: string; backing: string; action: string; savedBytes: number; detail: string }>;
  blockers: string[];
  memoryBytes: number;
}

async function checkJson(lab: Lab, pid: number, code: number): Promise<Report> {
  const args = ['check', String(pid), '--json'];
  const r = await lab.ckpt(args);
  assert.equal(r.code, code, describeRun(args, r));
  return JSON.parse(r.stdout) as Report;
}

/** A PID nobody has. */
function freePid(): number {
  const max = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  for (let p = max - 1; p > 1; p--) if (!existsSync(`/proc/${p}`)) return p;
  throw new Error('no free PID');
}

/** The target was not harmed: not traced, not stopped, and still counting. */
async function assertUnharmed(pid: number, log: string): Promise<void> {
  assert.ok(isAlive(pid), `process ${pid} still runs`);
  assert.equal(tracerOf(pid), 0, 'check never traces the process');
  assert.notEqual(procState(pid), 'T', 'the process is not left stopped');
  await waitTick(log, lastTick(log) + 3);
}

test('check on a plain counter: exit 0, every fd and memory region listed; --json consistent', T, async (t) => {
  const lab = Lab.create(t);
  const prog = await compile('counter');
  const w = await lab.start(prog);
  await waitTick(w.log, 2);

  const args = ['check', String(w.pid)];
  const r = await lab.ckpt(args);
  const what = describeRun(args, r);
  assert.equal(r.code, 0, what);
  assert.equal(r.stderr, '', what);
  const out = r.stdout;
  // Threads: the one thread, with the system call it sleeps in.
  assert.match(out, new RegExp(`^\\s+TID ${w.pid}\\b.*\\bcounter\\b.*(nanosleep|running)`, 'm'), what);
  // File descriptors: stdin /dev/null, stdout and stderr the log file.
  assert.match(out, /^\s+fd 0\s+\/dev\/null\s+chardev\s+referenced: /m, what);
  assert.match(out, new RegExp(`^\\s+fd 1\\s+${w.log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+file\\s+referenced: reopened by path \\(write-only\\) at offset \\d+`, 'm'), what);
  assert.match(out, /^\s+fd 2\s+/m, what);
  assert.doesNotMatch(out, /BLOCKS/, what);
  // Memory: the program referenced, the stack saved, the vDSO left to the kernel.
  assert.match(out, new RegExp(`^\\s+0x[0-9a-f]+-0x[0-9a-f]+ r-xp\\s+referenced \\(file, .* copied-on-write saved\\)\\s+${prog.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), what);
  assert.match(out, /^\s+0x[0-9a-f]+-0x[0-9a-f]+ rw-p\s+saved \(.+ present\)\s+\[stack\]$/m, what);
  assert.match(out, /^\s+0x[0-9a-f]+-0x[0-9a-f]+ r-xp\s+recreated by the kernel \(vdso\)\s+\[vdso\]$/m, what);
  const verdict = new RegExp(`^PID ${w.pid} can be checkpointed: (\\d+\\.\\d\\d) MiB of memory to save, 1 thread, 3 fds$`, 'm').exec(out);
  assert.ok(verdict, `the verdict line: ${what}`);

  const j = await checkJson(lab, w.pid, 0);
  assert.equal(j.pid, w.pid);
  assert.equal(j.checkpointable, true);
  assert.deepEqual(j.blockers, []);
  assert.deepEqual(j.threads.map((x) => x.tid), [w.pid]);
  assert.equal(j.threads[0].name, 'counter');
  // Every fd /proc shows, with the kind that saves it.
  assert.deepEqual(j.fds.map((f) => f.fd), readdirSync(`/proc/${w.pid}/fd`).map(Number).sort((a, b) => a - b));
  assert.deepEqual(j.fds.map((f) => [f.fd, f.kind, f.action]), [[0, 'chardev', 'referenced'], [1, 'file', 'referenced'], [2, 'file', 'referenced']]);
  assert.equal(j.fds[1].link, w.log);
  // Every memory region of /proc/PID/maps but [vsyscall], in order, not overlapping.
  const maps = readFileSync(`/proc/${w.pid}/maps`, 'utf8').split('\n').filter((l) => l && !l.endsWith('[vsyscall]'));
  assert.equal(j.memory.length, maps.length, JSON.stringify(j.memory, null, 1));
  j.memory.forEach((m, i) => {
    assert.ok(m.start < m.end && (i === 0 || j.memory[i - 1].end <= m.start), `region ${i} in order`);
    assert.ok(m.savedBytes >= 0 && m.savedBytes <= m.end - m.start && m.savedBytes % 4096 === 0, `region ${i}: ${m.savedBytes} bytes`);
    assert.ok(['saved', 'referenced', 'recreated'].includes(m.action), `region ${i}: ${m.action}`);
  });
  assert.equal(j.memoryBytes, j.memory.reduce((n, m) => n + m.savedBytes, 0), 'memoryBytes is the sum of the regions');
  assert.ok(j.memoryBytes > 0);
  const stack = j.memory.find((m) => m.name === '[stack]');
  assert.ok(stack && stack.backing === 'anon' && stack.action === 'saved' && stack.savedBytes > 0, JSON.stringify(stack));
  const vdso = j.memory.find((m) => m.name === '[vdso]');
  assert.ok(vdso && vdso.backing === 'special' && vdso.action === 'recreated' && vdso.savedBytes === 0, JSON.stringify(vdso));
  const text = j.memory.filter((m) => m.name === prog);
  assert.ok(text.length > 0 && text.every((m) => m.backing === 'file' && m.action === 'referenced'), JSON.stringify(text));
  // The human form says the same (within what a running process changes between two looks).
  assert.ok(Math.abs(Number(verdict![1]) - j.memoryBytes / 1048576) < 0.5, `${verdict![1]} MiB vs ${j.memoryBytes} bytes`);

  await assertUnharmed(w.pid, w.log);
  lab.stop();
  assert.deepEqual(await w.exited, { code: 0, signal: null }, tail(w.log));
  assertCounter(w.log, 3);
});

test('check on a counter holding a netlink socket: exit 5 naming the fd; dump refuses with the same list', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('counter'), ['--socket']);
  const fd = Number((await waitLine(w.log, /^socket fd (\d+)$/))[1]);
  await waitTick(w.log, 1);

  const args = ['check', String(w.pid)];
  const r = await lab.ckpt(args);
  const what = describeRun(args, r);
  assert.equal(r.code, EXIT.KIND_UNSUPPORTED, what);
  assert.match(r.stdout, new RegExp(`^\\s+fd ${fd}\\s+socket:\\[\\d+\\]\\s+-\\s+BLOCKS: a netlink socket`, 'm'), what);
  const verdict = r.stdout.slice(r.stdout.indexOf(`PID ${w.pid} cannot be checkpointed yet:\n`));
  assert.ok(verdict.startsWith(`PID ${w.pid} cannot`), what);
  assert.match(verdict, new RegExp(`^  fd ${fd}: a netlink socket \\(not supported yet\\)$`, 'm'), what);
  assert.doesNotMatch(r.stdout, /can be checkpointed:/, what);

  const j = await checkJson(lab, w.pid, EXIT.KIND_UNSUPPORTED);
  assert.equal(j.checkpointable, false);
  assert.deepEqual(j.blockers, [`fd ${fd}: a netlink socket (not supported yet)`]);
  const entry = j.fds.find((f) => f.fd === fd);
  assert.ok(entry && entry.kind === null && entry.action === 'blocks' && /netlink/.test(entry.detail), JSON.stringify(entry));
  assert.ok(j.fds.filter((f) => f.fd !== fd).every((f) => f.action !== 'blocks'), JSON.stringify(j.fds));
  assert.ok(j.memory.length > 0 && j.memoryBytes > 0, 'memory is still listed');

  // `ckpt dump` refuses with exactly the reasons check gave.
  const dargs = ['dump', String(w.pid), '-o', lab.path('x.ckpt')];
  const d = await lab.ckpt(dargs);
  assert.equal(d.code, EXIT.KIND_UNSUPPORTED, describeRun(dargs, d));
  const refused = d.stderr.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
  assert.deepEqual(refused, j.blockers, describeRun(dargs, d));
  assert.equal(existsSync(lab.path('x.ckpt')), false);

  await assertUnharmed(w.pid, w.log);
  lab.stop();
  assert.deepEqual(await w.exited, { code: 0, signal: null }, tail(w.log));
  assertCounter(w.log, 3);
});

test('check changes nothing: repeated checks while the counter runs, never traced, counter exact', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('counter'));
  await waitTick(w.log, 1);
  // Signal state and thread count: a tracer or an injected syscall would leave traces here.
  const status = () => readFileSync(`/proc/${w.pid}/status`, 'utf8').split('\n').filter((l) => /^(SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|Threads):/.test(l));
  const before = status();
  const fdsBefore = readdirSync(`/proc/${w.pid}/fd`);
  const mapsBefore = readFileSync(`/proc/${w.pid}/maps`, 'utf8');
  for (let i = 0; i < 5; i++) {
    const r = await lab.ckpt(['check', String(w.pid), ...(i % 2 ? ['--json'] : [])]);
    assert.equal(r.code, 0, describeRun(['check', String(w.pid)], r));
    assert.equal(tracerOf(w.pid), 0);
  }
  assert.deepEqual(status(), before, 'no signal sent, caught or blocked; no thread added');
  assert.deepEqual(readdirSync(`/proc/${w.pid}/fd`), fdsBefore, 'no fd opened or closed in the process');
  assert.equal(readFileSync(`/proc/${w.pid}/maps`, 'utf8'), mapsBefore, 'no memory mapped or unmapped in the process');
  await assertUnharmed(w.pid, w.log);
  lab.stop();
  assert.deepEqual(await w.exited, { code: 0, signal: null }, tail(w.log));
  assertCounter(w.log, 3);
});

test('check on an unknown PID: NO_SUCH_PROCESS (3); a bad PID: USAGE (2)', T, async (t) => {
  const lab = Lab.create(t);
  const pid = freePid();
  const r = await lab.ckpt(['check', String(pid)]);
  assert.equal(r.code, EXIT.NO_SUCH_PROCESS, describeRun(['check', String(pid)], r));
  assert.match(r.stderr, new RegExp(`^ckpt: .*\\b${pid}\\b`, 'm'));
  assert.equal(r.stdout, '');
  const j = await lab.ckpt(['check', String(pid), '--json']);
  assert.equal(j.code, EXIT.NO_SUCH_PROCESS);
  assert.equal(JSON.parse(j.stdout).error.code, 'NO_SUCH_PROCESS');
  const bad = await lab.ckpt(['check', 'abc']);
  assert.equal(bad.code, EXIT.USAGE, describeRun(['check', 'abc'], bad));
  assert.deepEqual(lab.files(), []);
});
