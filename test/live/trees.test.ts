// Live checkpoint/restore of whole process trees: `ckpt dump ROOT` freezes
// ROOT and every descendant together; `ckpt restore` recreates them with the
// same PIDs, each by its real parent, with sessions, process groups, zombies,
// pipes and sockets between them, shared open files, shared listening
// sockets and MAP_SHARED memory as they were.
//
// Every workload here is started the way CI runners start programs: with one
// extra inherited descriptor, the write end of a pipe whose read end the test
// keeps (InheritedPipe). A pipe to outside the tree must not block the dump.
// Every dump runs while the machine is busy (a CPU-bound loop per CPU), and
// continuation is proven by the workloads' own output. Every process of
// every tree (original and restored) is killed by PID when a test ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Lab, compile, python3, until, waitTick, waitLine, waitGone, lastTick, lines, tail, readLog, describeRun,
  assertCounter, exeOf, tracerOf, procStat, procState, treeOf, syscallOf, isAlive, WORKLOADS,
  type ProcStat, type RunResult, type Background, type Workload,
} from './harness.js';

const T = { timeout: 300_000 };

// ---------------------------------------------------------------------------
// Trees: what they are made of, dumping and restoring them.

interface Member extends ProcStat {
  exe?: string;
  cmdline: string;
}

interface Snapshot {
  root: number;
  members: Member[];
}

function cmdlineOf(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' '); } catch { return ''; }
}

/** The tree under `root` now, with each member's program and command line. */
function snapshot(root: number): Snapshot {
  return { root, members: treeOf(root).map((p) => ({ ...p, exe: exeOf(p.pid), cmdline: cmdlineOf(p.pid) })) };
}

/** Kill every member of the snapshot (and whatever tree then hangs under its root) when the test ends. */
function ownAll(lab: Lab, snap: Snapshot): void {
  const root = snap.members.find((m) => m.pid === snap.root);
  lab.ownTree(snap.root, root?.exe);
  for (const m of snap.members) lab.own(m.pid, m.exe);
}

/** `ls -l /proc/PID/fd`, short. */
function fdsOf(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b).map((fd) => {
      try { return `${fd}->${readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return `${fd}->?`; }
    }).join(' ');
  } catch {
    return '(no fds)';
  }
}

/** A `ps`-like listing of the tree, with descriptors, for failure messages. */
function describeTree(root: number): string {
  const t = treeOf(root);
  if (t.length === 0) return `(no process ${root})`;
  return t.map((p) => `  ${p.pid} ppid ${p.ppid} pgid ${p.pgid} sid ${p.sid} ${p.state} ${p.comm} [${cmdlineOf(p.pid)}] tracer ${safeTracer(p.pid)} syscall ${syscallOf(p.pid)}\n      fds: ${fdsOf(p.pid)}`).join('\n');
}

function safeTracer(pid: number): number {
  try { return tracerOf(pid); } catch { return -1; }
}

interface ImageProcess { pid: number; ppid: number; pgid: number; sid: number; comm: string; state: string }

/** A zombie's state in `ckpt info --json` (the /proc letter or a word). */
const isZombie = (state: string) => /^(Z|zombie)$/i.test(state);

async function imageInfo(lab: Lab, image: string): Promise<{ processes?: ImageProcess[]; [k: string]: unknown }> {
  const r = await lab.ckptOk(['info', image, '--json']);
  return JSON.parse(r.stdout);
}

/**
 * `ckpt dump ROOT -o IMAGE [--kill|--stop]` while the machine is busy,
 * requiring success. With --kill, waits until every PID of the tree (as the
 * image lists it, and as seen just before) is gone, so it can be restored.
 */
async function dumpTree(lab: Lab, root: number, image: string, mode: 'kill' | 'stop' | 'run', extra: string[] = []): Promise<{ result: RunResult; before: Snapshot; processes: ImageProcess[] }> {
  const before = snapshot(root);
  ownAll(lab, before);
  const args = ['dump', String(root), '-o', image, ...(mode === 'kill' ? ['--kill'] : mode === 'stop' ? ['--stop'] : []), ...extra];
  const listing = describeTree(root);
  const result = await lab.busy(() => lab.ckpt(args));
  assert.equal(result.code, 0, `${describeRun(args, result)}\n--- the tree just before the dump ---\n${listing}`);
  // The processes the image holds, as `ckpt info --json` lists them (checked
  // in their own tests; here only used to know which PIDs must be free).
  const info = await imageInfo(lab, image);
  const processes = Array.isArray(info.processes) ? info.processes : [];
  if (mode === 'kill') {
    for (const pid of new Set([...before.members.map((m) => m.pid), ...processes.map((p) => p.pid)])) await waitGone(pid);
  }
  return { result, before, processes };
}

/** The `processes` list of `ckpt info --json`, required. */
async function listedProcesses(lab: Lab, image: string): Promise<ImageProcess[]> {
  const info = await imageInfo(lab, image);
  assert.ok(Array.isArray(info.processes), `ckpt info --json has no processes list: ${Object.keys(info).join(', ')}`);
  return info.processes!;
}

/** `ckpt restore IMAGE --detach ...`: returns the root PID it prints and ckpt's output. */
async function restoreDetached(lab: Lab, image: string, snap: Snapshot, extra: string[] = []): Promise<{ pid: number; result: RunResult }> {
  ownAll(lab, snap);
  const args = ['restore', image, '--detach', ...extra];
  const result = await lab.ckpt(args);
  assert.equal(result.code, 0, describeRun(args, result));
  const m = /(\d+)/.exec(result.stdout);
  assert.ok(m, `no PID printed: ${describeRun(args, result)}`);
  return { pid: Number(m[1]), result };
}

/** `ckpt restore IMAGE ...` in the foreground: it lasts as long as the root. */
function restoreForeground(lab: Lab, image: string, snap: Snapshot, extra: string[] = [], fds: number[] = []): Background {
  ownAll(lab, snap);
  return lab.ckptBackground(['restore', image, ...extra], { fds });
}

/** Fail at once if a foreground restore ended (with its output). */
function alive(bg: Background | undefined, log: string): void {
  if (bg?.ended) throw new Error(`ckpt restore ended early: ${describeRun(bg.args, bg.ended)}\n${tail(log)}`);
}

/**
 * Wait until the restored tree has exactly the processes of `snap` (same
 * PIDs, each under the same parent, same group and session; the root's parent
 * excepted) and return it.
 */
async function waitSameTree(snap: Snapshot, bg?: Background, log = ''): Promise<ProcStat[]> {
  const want = snap.members.map((m) => `${m.pid} ppid ${m.pid === snap.root ? '-' : m.ppid} pgid ${m.pgid} sid ${m.sid}`).sort();
  let got: string[] = [];
  return until('the restored tree to have the same PIDs, parents, groups and sessions', () => {
    alive(bg, log);
    const t = treeOf(snap.root);
    got = t.map((p) => `${p.pid} ppid ${p.pid === snap.root ? '-' : p.ppid} pgid ${p.pgid} sid ${p.sid}`).sort();
    return JSON.stringify(got) === JSON.stringify(want) ? t : undefined;
  }, { detail: () => `expected:\n  ${want.join('\n  ')}\nnow:\n  ${got.join('\n  ')}\n${describeTree(snap.root)}` });
}

/** Wait until none of these PIDs exists any more. */
async function waitAllGone(pids: Iterable<number>): Promise<void> {
  for (const pid of pids) await waitGone(pid);
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------
// 1. A shell pipeline.

test('a bash pipeline gen | filter | sink with data in flight in both pipes: every number reaches the sink exactly once, in order', T, async (t) => {
  const lab = Lab.create(t);
  const prog = await compile('pipeline');
  const py = await python3();
  const out = lab.path('sink.txt');
  const N = 40000;
  const cmd = `${shq(prog)} gen ${N} | ${shq(py)} ${shq(join(WORKLOADS, 'pipe_filter.py'))} | ${shq(prog)} sink ${N} ${shq(out)}`;
  const w = await lab.start('bash', ['-c', cmd], { extraFd: 5, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  const roles = await until('bash and its three pipeline members', () => {
    const tr = snapshot(w.pid).members;
    const kids = tr.filter((m) => m.pid !== w.pid); // bash's own command line names them all
    const gen = kids.find((m) => m.cmdline.includes(' gen '));
    const filter = kids.find((m) => m.cmdline.includes('pipe_filter.py'));
    const sink = kids.find((m) => m.cmdline.includes(' sink '));
    return tr.length === 4 && gen && filter && sink ? { gen: gen.pid, filter: filter.pid, sink: sink.pid } : undefined;
  }, { detail: () => describeTree(w.pid) });
  // The sink is slow: soon both pipes are full, gen and the filter blocked in write().
  await until('the sink past 2000 lines, gen and the filter blocked writing into full pipes', () =>
    lines(out).length >= 2000 && syscallOf(roles.gen) === 1 && syscallOf(roles.filter) === 1,
  { detail: () => `${lines(out).length} lines in the sink's file\n${describeTree(w.pid)}` });

  const image = lab.path('pipeline.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  const atDump = lines(out).length;
  assert.ok(atDump < N, 'the pipeline had not finished');
  assert.doesNotMatch(readLog(w.log), /^gen done/m, 'gen was still writing at the checkpoint');

  const bg = restoreForeground(lab, image, before);
  // The whole pipeline is back, each member under bash, with its PID.
  await waitSameTree(before, bg, w.log);
  const r = await lab.finish(bg, 120_000);
  assert.equal(r.code, 0, `${describeRun(bg.args, r)}\n${tail(w.log)}`);
  const log = readLog(w.log);
  assert.match(log, new RegExp(`^gen done ${N}$`, 'm'), tail(w.log));
  assert.match(log, /^filter done$/m, tail(w.log));
  assert.match(log, new RegExp(`^sink done ${N}$`, 'm'), tail(w.log));
  assert.doesNotMatch(log, /FAIL|Traceback/, tail(w.log));
  const got = lines(out);
  assert.equal(got.length, N, `the sink's file has ${got.length} lines, not ${N} (${atDump} at the checkpoint)`);
  got.forEach((l, i) => assert.equal(l, `${i} ${i * i}`, `line ${i} of the sink's file`));
  t.diagnostic(`${atDump} of ${N} numbers had reached the sink at the checkpoint`);
});

// ---------------------------------------------------------------------------
// 2. A shell forking short-lived children all the time.

test('bash forking a short-lived sleep every 50 ms: 8 dumps leaving it running, then 3 dump --kill and restores, the counter going on', T, async (t) => {
  const lab = Lab.create(t);
  const counter = lab.path('counter');
  const w = await lab.start('bash', [join(WORKLOADS, 'forkloop.sh'), counter], { extraFd: 7, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  // NaN while the shell is between truncating the file and writing it.
  const readCounter = () => { try { return Number(readFileSync(counter, 'utf8').trim() || 'NaN'); } catch { return NaN; } };

  // Dumps that leave the tree running: each must succeed whatever the shell is doing.
  let at = 0;
  const children: number[] = [];
  for (let round = 1; round <= 8; round++) {
    at = await waitTick(w.log, at + 4);
    // (what `ckpt info` lists is checked in its own test; here only that any child it lists hangs in the tree)
    const { processes } = await dumpTree(lab, w.pid, lab.path(`run${round}.ckpt`), 'run');
    children.push(processes.length - 1);
    for (const p of processes) {
      if (p.pid === w.pid) continue;
      assert.ok(processes.some((q) => q.pid === p.ppid), `process ${p.pid} in the image has its parent ${p.ppid} outside the tree: ${JSON.stringify(processes)}`);
    }
    for (const p of treeOf(w.pid)) {
      assert.ok(p.state !== 'T' && p.state !== 't', `process ${p.pid} was left stopped after a dump leaving it running\n${describeTree(w.pid)}`);
      const tr = safeTracer(p.pid);
      assert.ok(tr === 0 || tr === -1, `process ${p.pid} is still traced by ${tr}\n${describeTree(w.pid)}`);
    }
    at = await waitTick(w.log, lastTick(w.log) + 3);
  }
  assertCounter(w.log, at + 1);
  t.diagnostic(`children in the images: ${children.join(', ')}`);

  // Then checkpoint, kill and restore three times; the last restore in the foreground.
  let bg: Background | undefined;
  for (let round = 1; round <= 3; round++) {
    const image = lab.path(`kill${round}.ckpt`);
    const { before } = await dumpTree(lab, w.pid, image, 'kill');
    const dumpedAt = lastTick(w.log);
    const c = readCounter();
    assert.ok(Number.isNaN(c) || c === dumpedAt || c === dumpedAt - 1, `the counter file says ${c} at tick ${dumpedAt}`);
    if (round < 3) {
      const { pid } = await restoreDetached(lab, image, before);
      assert.equal(pid, w.pid);
    } else {
      bg = restoreForeground(lab, image, before);
    }
    await until(`the counter to go on after restore ${round}`, () => { alive(bg, w.log); return lastTick(w.log) >= dumpedAt + 5 && readCounter() >= dumpedAt + 4; }, { detail: () => `${tail(w.log)}\ncounter file: ${readCounter()}` });
  }
  lab.stop();
  const r = await lab.finish(bg!);
  assert.equal(r.code, 0, `${describeRun(bg!.args, r)}\n${tail(w.log)}`);
  const ticksSeen = assertCounter(w.log, at + 15);
  assert.equal(readCounter(), ticksSeen[ticksSeen.length - 1], 'the counter file holds the last tick');
  assert.match(readLog(w.log), /^done$/m, tail(w.log));
});

// ---------------------------------------------------------------------------
// 3. Python multiprocessing.

test('a Python multiprocessing.Pool of 3 workers with a shared Queue: after restore the jobs complete with the right total', T, async (t) => {
  const lab = Lab.create(t);
  const N = 400;
  const w = await lab.start(await python3(), [join(WORKLOADS, 'pool.py'), String(N), '20'], { extraFd: 9, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  const workers = (await waitLine(w.log, /^workers (\d+) (\d+) (\d+)$/)).slice(1).map(Number);
  await waitTick(w.log, 60);
  await until('the 3 workers in the tree', () => workers.every((p) => procStat(p)?.ppid === w.pid), { detail: () => describeTree(w.pid) });

  const image = lab.path('pool.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  const dumpedAt = lastTick(w.log);
  assert.ok(dumpedAt < N - 1, 'jobs were left at the checkpoint');
  for (const p of workers) assert.ok(before.members.some((m) => m.pid === p), `worker ${p} is not in the tree\n${JSON.stringify(before.members)}`);

  const bg = restoreForeground(lab, image, before);
  await waitSameTree(before, bg, w.log);
  await lab.waitTickWhile(bg, w.log, dumpedAt + 10);
  const r = await lab.finish(bg, 120_000);
  assert.equal(r.code, 0, `${describeRun(bg.args, r)}\n${tail(w.log)}`);
  const expect = Array.from({ length: N }, (_, i) => i * i).reduce((a, b) => a + b, 0);
  assert.match(readLog(w.log), new RegExp(`^total ${expect} ok from \\d workers$`, 'm'), tail(w.log));
  assertCounter(w.log, N);
  assert.equal(lastTick(w.log), N - 1, tail(w.log));
  assert.match(readLog(w.log), /^done$/m);
  assert.doesNotMatch(readLog(w.log), /Traceback|Error/, tail(w.log));
});

// ---------------------------------------------------------------------------
// 4. A Node.js cluster.

interface WorkerAnswer { pid: number; worker: number; n: number }

function httpGet(port: number): Promise<WorkerAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 20_000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body) as WorkerAnswer); } catch (e) { reject(e); } });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer from port ${port} within 20 s`)));
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Every answer's counter must be the next one of the worker that gave it. */
function checkAnswers(answers: WorkerAnswer[], last: Map<number, number>, workers: number[], what: string): void {
  for (const a of answers) {
    assert.ok(workers.includes(a.pid), `${what}: answered by PID ${a.pid}, not one of the workers ${workers.join(', ')}`);
    const prev = last.get(a.pid) ?? 0;
    assert.equal(a.n, prev + 1, `${what}: worker ${a.pid} answered n=${a.n} after n=${prev}: its counter did not go on exactly\n${JSON.stringify(answers)}`);
    last.set(a.pid, a.n);
  }
}

test('a Node.js cluster (primary + 2 HTTP workers on one port): after restore the port answers from the same workers, each counter going on', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(process.execPath, [join(WORKLOADS, 'cluster.cjs')], { extraFd: 7, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  const port = Number((await waitLine(w.log, /^port (\d+)$/))[1]);
  const workers = lines(w.log).map((l) => /^worker \d+ (\d+)$/.exec(l)).filter((m) => m).map((m) => Number(m![1]));
  assert.equal(workers.length, 2, tail(w.log));

  const last = new Map<number, number>();
  const first: WorkerAnswer[] = [];
  for (let i = 0; i < 6; i++) first.push(await httpGet(port));
  checkAnswers(first, last, workers, 'before the checkpoint');
  assert.equal(last.size, 2, `both workers answer before the checkpoint: ${JSON.stringify(first)}`);

  const image = lab.path('cluster.ckpt');
  // A connection may linger on a worker's side: it comes back closed.
  const { before } = await dumpTree(lab, w.pid, image, 'kill', ['--tcp-close']);
  for (const p of workers) assert.ok(before.members.some((m) => m.pid === p && m.ppid === w.pid), `worker ${p} is a child of the primary\n${JSON.stringify(before.members)}`);
  assert.equal(await accepts(port), false, 'nobody listens while the cluster is checkpointed');

  const { pid } = await restoreDetached(lab, image, before);
  assert.equal(pid, w.pid);
  await waitSameTree(before);
  const after: WorkerAnswer[] = [];
  for (let i = 0; i < 10; i++) after.push(await httpGet(port));
  checkAnswers(after, last, workers, 'after the restore');
  assert.equal(new Set(after.map((a) => a.pid)).size, 2, `both restored workers answer: ${JSON.stringify(after)}`);
  const dumpedAt = lastTick(w.log);
  await waitTick(w.log, dumpedAt + 5);

  lab.stop();
  await waitLine(w.log, /^done$/);
  await waitAllGone(before.members.map((m) => m.pid));
  assert.doesNotMatch(readLog(w.log), /FAIL|Error/, tail(w.log));
});

// ---------------------------------------------------------------------------
// 5. A pre-fork server: one listening socket shared by a parent and its children.

function askLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setEncoding('utf8');
    s.setTimeout(20_000, () => s.destroy(new Error(`no answer from port ${port} within 20 s`)));
    s.on('data', (d: string) => { buf += d; });
    s.on('end', () => { s.destroy(); resolve(buf.trim()); });
    s.on('error', reject);
  });
}

test('a pre-fork C server (3 children accept() on one shared listening socket): new connections are served by the restored children', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('prefork'), ['3'], { extraFd: 6, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  const port = Number((await waitLine(w.log, /^port (\d+)$/))[1]);
  const kids = lines(w.log).map((l) => /^child (\d+)$/.exec(l)).filter((m) => m).map((m) => Number(m![1]));
  assert.equal(kids.length, 3, tail(w.log));
  await until('the children blocked in accept()', () => kids.every((k) => syscallOf(k) === 43 || syscallOf(k) === 288), { detail: () => describeTree(w.pid) });

  const last = new Map<number, number>();
  const serve = async (count: number, what: string) => {
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const line = await askLine(port);
      const m = /^pid (\d+) n (\d+)$/.exec(line);
      assert.ok(m, `${what}: answer ${JSON.stringify(line)}`);
      const [pid, n] = [Number(m[1]), Number(m[2])];
      assert.ok(kids.includes(pid), `${what}: answered by ${pid}, not one of the children ${kids.join(', ')}`);
      assert.equal(n, (last.get(pid) ?? 0) + 1, `${what}: child ${pid} answered n=${n} after n=${last.get(pid) ?? 0}`);
      last.set(pid, n);
      seen.add(pid);
    }
    return seen;
  };
  await serve(9, 'before the checkpoint');

  // One listening socket, the same in the parent and every child.
  const socketsOf = (pid: number) => readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; } }).filter((l) => l.startsWith('socket:')).sort();
  const oneSocket = (what: string) => {
    const s = socketsOf(w.pid);
    assert.equal(s.length, 1, `${what}: the parent holds one socket\n${describeTree(w.pid)}`);
    for (const k of kids) assert.deepEqual(socketsOf(k), s, `${what}: child ${k} holds the parent's listening socket\n${describeTree(w.pid)}`);
  };
  oneSocket('before the checkpoint');

  const image = lab.path('prefork.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  assert.equal(await accepts(port), false, 'nobody listens while the server is checkpointed');
  const { pid } = await restoreDetached(lab, image, before);
  assert.equal(pid, w.pid);
  await waitSameTree(before);
  oneSocket('after the restore');
  const dumpedAt = lastTick(w.log);
  const seen = await serve(15, 'after the restore');
  t.diagnostic(`after the restore, connections served by ${[...seen].join(', ')}; counts ${JSON.stringify([...last])}`);
  // The parent still holds the socket too, and goes on.
  await waitTick(w.log, dumpedAt + 5);
  lab.stop();
  await waitLine(w.log, /^done$/);
  await waitAllGone(before.members.map((m) => m.pid));
  assertCounter(w.log, dumpedAt + 6);
});

// ---------------------------------------------------------------------------
// 6. Zombies.

test('zombie children stay zombies: after restore their parent reaps them with the exit statuses they had; ckpt info shows them as zombies', T, async (t) => {
  const lab = Lab.create(t);
  const go = lab.path('GO');
  const codes = [3, 0, -15, 42]; // -15: killed by SIGTERM
  const w = await lab.start(await compile('zombies'), [go, ...codes.map(String)], { extraFd: 8, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  await waitTick(w.log, 3);
  const kids = lines(w.log).map((l) => /^child (\d+) (-?\d+)$/.exec(l)).filter((m) => m).map((m) => ({ pid: Number(m![1]), code: Number(m![2]) }));
  assert.deepEqual(kids.map((k) => k.code), codes, tail(w.log));
  await until('every child a zombie', () => kids.every((k) => procState(k.pid) === 'Z'), { detail: () => describeTree(w.pid) });

  const image = lab.path('zombies.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  const processes = await listedProcesses(lab, image);
  assert.equal(processes.length, 1 + kids.length, JSON.stringify(processes));
  for (const k of kids) {
    const p = processes.find((q) => q.pid === k.pid);
    assert.ok(p, `zombie ${k.pid} is not in the image: ${JSON.stringify(processes)}`);
    assert.ok(isZombie(p.state), `ckpt info shows ${k.pid} as ${p.state}, not a zombie`);
    assert.equal(p.ppid, w.pid);
  }
  assert.ok(!isZombie(processes.find((q) => q.pid === w.pid)!.state), 'the parent is no zombie');

  const bg = restoreForeground(lab, image, before);
  await waitSameTree(before, bg, w.log);
  const dumpedAt = lastTick(w.log);
  await lab.waitTickWhile(bg, w.log, dumpedAt + 3);
  for (const k of kids) assert.equal(procState(k.pid), 'Z', `${k.pid} is a zombie again\n${describeTree(w.pid)}`);
  writeFileSync(go, '');
  const r = await lab.finish(bg);
  assert.equal(r.code, 0, `${describeRun(bg.args, r)}\n${tail(w.log)}`);
  const reaped = lines(w.log).filter((l) => l.startsWith('reaped '));
  assert.deepEqual(reaped, kids.map((k) => (k.code < 0 ? `reaped ${k.pid} signal ${-k.code}` : `reaped ${k.pid} exit ${k.code}`)), tail(w.log));
  assert.match(readLog(w.log), /^done$/m);
  assertCounter(w.log, dumpedAt + 4);
});

// ---------------------------------------------------------------------------
// 7. Sessions and process groups.

const MEMBERS = ['R', 'A', 'B', 'C', 'D'] as const;

async function sessionTree(lab: Lab, extraFd: number): Promise<{ w: Workload; ids: Map<string, ProcStat> }> {
  const w = await lab.start(await compile('sessions'), [], { extraFd, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  const ids = new Map<string, ProcStat>();
  await until('the 5 members set up', () => {
    for (const l of lines(w.log)) {
      const m = /^member (\w) pid (\d+) ppid (\d+) pgid (\d+) sid (\d+)$/.exec(l);
      if (m) ids.set(m[1], { pid: Number(m[2]), ppid: Number(m[3]), pgid: Number(m[4]), sid: Number(m[5]), comm: 'sessions', state: '' });
    }
    return ids.size === 5;
  }, { detail: () => tail(w.log) });
  // What the workload says matches what /proc says, and the shape is the intended one.
  const R = ids.get('R')!;
  const A = ids.get('A')!;
  assert.equal(R.pid, w.pid);
  assert.deepEqual([R.pgid, R.sid], [R.pid, R.pid], 'the root leads its session and group');
  assert.deepEqual(MEMBERS.map((n) => [n, ids.get(n)!.pgid]), [['R', R.pid], ['A', A.pid], ['B', A.pid], ['C', R.pid], ['D', R.pid]]);
  assert.equal(ids.get('D')!.ppid, A.pid);
  for (const n of MEMBERS) {
    const s = procStat(ids.get(n)!.pid)!;
    assert.deepEqual([s.ppid, s.pgid, s.sid], [ids.get(n)!.ppid, ids.get(n)!.pgid, ids.get(n)!.sid], `member ${n} in /proc`);
  }
  return { w, ids };
}

test('a session leader with children in three process groups (one joined across the tree): sid, pgid and ppid of every process exact after restore', T, async (t) => {
  const lab = Lab.create(t);
  const { w, ids } = await sessionTree(lab, 3);
  await waitTick(w.log, 5);
  const image = lab.path('sessions.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  assert.equal(before.members.length, 5, describeTree(w.pid));

  const { pid } = await restoreDetached(lab, image, before);
  assert.equal(pid, w.pid);
  await waitSameTree(before);
  for (const n of MEMBERS) {
    const was = ids.get(n)!;
    const s = procStat(was.pid);
    assert.ok(s, `member ${n} (${was.pid}) is back`);
    assert.equal(s.sid, was.sid, `getsid of ${n}`);
    assert.equal(s.pgid, was.pgid, `getpgid of ${n}`);
    if (n !== 'R') assert.equal(s.ppid, was.ppid, `getppid of ${n}`);
    assert.equal(s.comm, 'sessions');
  }
  const dumpedAt = lastTick(w.log);
  await waitTick(w.log, dumpedAt + 10); // and every member checked its ids each tick meanwhile
  lab.stop();
  await waitLine(w.log, /^done$/);
  await waitAllGone(before.members.map((m) => m.pid));
  for (const n of MEMBERS) assert.match(readLog(w.log), new RegExp(`^member ${n} ok after \\d+ checks$`, 'm'), tail(w.log));
  assertCounter(w.log, dumpedAt + 11);
});

test('ckpt info --json lists every process of the tree with its ppid, pgid, sid, comm and state', T, async (t) => {
  const lab = Lab.create(t);
  const { w, ids } = await sessionTree(lab, 4);
  const image = lab.path('sessions.ckpt');
  await dumpTree(lab, w.pid, image, 'run');
  const processes = await listedProcesses(lab, image);
  assert.equal(processes.length, 5, JSON.stringify(processes));
  for (const n of MEMBERS) {
    const was = ids.get(n)!;
    const p = processes.find((q) => q.pid === was.pid);
    assert.ok(p, `member ${n} (${was.pid}) is listed: ${JSON.stringify(processes)}`);
    assert.deepEqual({ pid: p.pid, ppid: p.ppid, pgid: p.pgid, sid: p.sid, comm: p.comm }, { pid: was.pid, ppid: was.ppid, pgid: was.pgid, sid: was.sid, comm: 'sessions' }, `member ${n}`);
    assert.ok(typeof p.state === 'string' && !isZombie(p.state), `member ${n}'s state: ${p.state}`);
  }
  // The dump left the tree running.
  const at = lastTick(w.log);
  await waitTick(w.log, at + 5);
  for (const n of MEMBERS) assert.ok(isAlive(ids.get(n)!.pid));
});

// ---------------------------------------------------------------------------
// 8. One open file description shared by two processes.

test('parent and child writing through one shared file description (no O_APPEND): after restore their lines still interleave, none overwritten', T, async (t) => {
  const lab = Lab.create(t);
  const file = lab.path('shared.txt');
  const w = await lab.start(await compile('sharedfile'), [file], { extraFd: 7, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  await waitTick(w.log, 10);
  const image = lab.path('sharedfile.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  assert.equal(before.members.length, 2, describeTree(w.pid));
  const atDump = lines(file);
  const count = (ls: string[], who: string) => ls.filter((l) => l.startsWith(who)).length;

  const bg = restoreForeground(lab, image, before);
  await waitSameTree(before, bg, w.log);
  const dumpedAt = lastTick(w.log);
  await lab.waitTickWhile(bg, w.log, dumpedAt + 10);
  lab.stop();
  const r = await lab.finish(bg);
  assert.equal(r.code, 0, `${describeRun(bg.args, r)}\n${tail(w.log)}`);

  const log = readLog(w.log);
  const parentWrote = Number(/^parent wrote (\d+)$/m.exec(log)?.[1]);
  const childWrote = Number(/^child wrote (\d+)$/m.exec(log)?.[1]);
  const all = lines(file);
  const raw = readFileSync(file, 'utf8');
  assert.equal(raw.length, 14 * all.length, 'every line whole (14 bytes)');
  for (const [who, wrote] of [['parent', parentWrote], ['child ', childWrote]] as const) {
    const mine = all.filter((l) => l.startsWith(who)).map((l) => l.slice(7));
    assert.ok(wrote > count(atDump, who), `the ${who.trim()} wrote more after the restore (${wrote}, ${count(atDump, who)} at the checkpoint)`);
    assert.deepEqual(mine, Array.from({ length: wrote }, (_, i) => String(i).padStart(6, '0')), `every line of the ${who.trim()} exactly once, in order`);
  }
  assert.equal(all.length, parentWrote + childWrote, 'nothing else in the file');
  assertCounter(w.log, dumpedAt + 11);
});

// ---------------------------------------------------------------------------
// 9. MAP_SHARED anonymous memory between processes.

test('MAP_SHARED anonymous memory with a process-shared mutex and counter: after restore both processes still increment the same memory', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('shmcounter'), [], { extraFd: 4, append: true });
  lab.ownTree(w.pid, exeOf(w.pid));
  await waitTick(w.log, 10);
  const image = lab.path('shm.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  assert.equal(before.members.length, 2, describeTree(w.pid));
  type View = { counter: number; parent: number; child: number };
  const views = (who: 'tick' | 'child'): View[] => lines(w.log).map((l) => new RegExp(`^${who} \\d+ counter (\\d+) parent (\\d+) child (\\d+)$`).exec(l)).filter((m) => m).map((m) => ({ counter: Number(m![1]), parent: Number(m![2]), child: Number(m![3]) }));
  const maxAt = (vs: View[], k: keyof View) => Math.max(...vs.map((v) => v[k]));
  const atDump = [...views('tick'), ...views('child')];
  const parentAt = maxAt(atDump, 'parent');
  const childAt = maxAt(atDump, 'child');
  const parentLines = views('tick').length;
  const childLines = views('child').length;

  const bg = restoreForeground(lab, image, before);
  await waitSameTree(before, bg, w.log);
  // Each sees the other's increments made after the restore: the memory is still one.
  await until('the parent to see the child increment after restore, and the child the parent', () => {
    alive(bg, w.log);
    const p = views('tick').slice(parentLines);
    const c = views('child').slice(childLines);
    return p.length > 0 && c.length > 0 && maxAt(p, 'child') > childAt + 50 && maxAt(c, 'parent') > parentAt + 50;
  }, { detail: () => tail(w.log) });
  lab.stop();
  const r = await lab.finish(bg);
  assert.equal(r.code, 0, `${describeRun(bg.args, r)}\n${tail(w.log)}`);
  const log = readLog(w.log);
  const fin = /^final counter (\d+) parent (\d+) child (\d+)$/m.exec(log);
  assert.ok(fin, tail(w.log));
  const childDid = Number(/^child did (\d+)$/m.exec(log)?.[1]);
  assert.equal(Number(fin[3]), childDid, `the parent's view of the child's increments (${fin[3]}) is what the child made (${childDid})`);
  assert.equal(Number(fin[1]), Number(fin[2]) + Number(fin[3]));
  for (const v of [...views('tick'), ...views('child')]) assert.equal(v.counter, v.parent + v.child, `an inconsistent view ${JSON.stringify(v)}`);
  assertCounter(w.log, parentLines + 1);
});

// ---------------------------------------------------------------------------
// 10. A pipe to outside the tree.

test('a pipe to a reader outside the tree: the dump goes through; restored alone its writes get EPIPE (with a notice); with --fd FILE, -, &K they land where told', T, async (t) => {
  const lab = Lab.create(t);
  const FD = 7;
  // Writes every 5 ms: a write in any window where the restored process runs but its peer is not gone yet shows.
  const w = await lab.start(await compile('pipewriter'), [String(FD)], { extraFd: FD, append: true, env: { TICK_MS: '5' } });
  lab.ownTree(w.pid, exeOf(w.pid));
  const child = Number((await waitLine(w.log, /^child (\d+)$/))[1]);
  await waitTick(w.log, 5);
  // Before: both write into the test's pipe.
  await until('lines from both processes on the test\'s pipe', () => /^parent 3$/m.test(w.extra!.text()) && /^child 3$/m.test(w.extra!.text()));
  assert.doesNotMatch(readLog(w.log), /EPIPE|error/, tail(w.log));

  const image = lab.path('pipewriter.ckpt');
  const { before } = await dumpTree(lab, w.pid, image, 'kill');
  const dumpedAt = lastTick(w.log);
  await until('end of file on the test\'s pipe (no writer left)', () => w.extra!.eof);
  const sentBefore = w.extra!.text();
  assert.ok(before.members.some((m) => m.pid === child), describeTree(w.pid));

  // What each had sent through the pipe: after any restore they go on with the next number.
  const lastSent = (who: string) => Math.max(-1, ...sentBefore.split('\n').map((l) => new RegExp(`^${who} (\\d+)$`).exec(l)).filter((m) => m).map((m) => Number(m![1])));
  assert.ok(lastSent('parent') >= 5 && lastSent('child') >= 3, sentBefore);
  /**
   * The lines a restored copy logged (from line `from` of the log), per
   * writer: the numbers and results of its writes. A write that was done
   * before the checkpoint but not yet logged is logged "ok" first.
   */
  const results = (from: number, who: 'tick' | 'child') => lines(w.log).slice(from).map((l) => new RegExp(`^${who} (\\d+) (.*)$`).exec(l)).filter((m) => m).map((m) => ({ k: Number(m![1]), res: m![2] }));
  const onlyNew = (from: number, who: 'tick' | 'child', sender: string) => results(from, who).filter((r) => r.k > lastSent(sender));

  // Restore 1, alone: the peer is gone.
  const logAtDump = lines(w.log).length;
  const first = await restoreDetached(lab, image, before);
  assert.equal(first.pid, w.pid);
  assert.match(first.result.stderr, /^ckpt:/m, `a notice about fd ${FD}: ${describeRun(['restore'], first.result)}`);
  t.diagnostic(`notice: ${first.result.stderr.trim()}`);
  await waitSameTree(before);
  await until('both processes reporting EPIPE after the restore', () =>
    onlyNew(logAtDump, 'tick', 'parent').length >= 3 && onlyNew(logAtDump, 'child', 'child').length >= 3, { detail: () => tail(w.log) });
  for (const [who, sender] of [['tick', 'parent'], ['child', 'child']] as const) {
    const rs = results(logAtDump, who);
    assert.ok(rs.length > 0 && (rs[0].k === lastSent(sender) || rs[0].k === lastSent(sender) + 1), `${sender} goes on from where it was: ${JSON.stringify(rs.slice(0, 3))}, last sent ${lastSent(sender)}`);
    for (const r of onlyNew(logAtDump, who, sender)) assert.equal(r.res, 'EPIPE', `${sender}'s write #${r.k} after the restore, with no reader left\n${tail(w.log)}`);
  }
  // Stop that copy and let it end cleanly.
  lab.stop();
  await waitLine(w.log, /^done$/);
  await waitAllGone(before.members.map((m) => m.pid));
  rmSync(lab.stopFile);

  // Restore 2: --fd plugs a file into fd 7 of the root, another into the child's.
  const rootFile = lab.path('root-fd7.txt');
  const childFile = lab.path('child-fd7.txt');
  writeFileSync(rootFile, '');
  writeFileSync(childFile, '');
  const logAtRestore2 = lines(w.log).length;
  const second = await restoreDetached(lab, image, before, ['--fd', `${FD}=${rootFile}`, '--fd', `${child}:${FD}=${childFile}`]);
  assert.equal(second.pid, w.pid);
  await waitSameTree(before);
  await until('the writes landing in the files given with --fd', () => lines(rootFile).length >= 5 && lines(childFile).length >= 5, { detail: () => `${tail(w.log)}\nroot file: ${readLog(rootFile)}\nchild file: ${readLog(childFile)}` });
  lab.stop();
  await waitLine(w.log, /^done$/);
  await waitAllGone(before.members.map((m) => m.pid));
  // Each goes on exactly after the last line it had sent into the pipe: nothing lost, nothing doubled.
  for (const [file, sender] of [[rootFile, 'parent'], [childFile, 'child']] as const) {
    const got = lines(file);
    assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => `${sender} ${lastSent(sender) + 1 + i}`), `what the ${sender} wrote to fd ${FD} after the restore (last sent before: ${lastSent(sender)})`);
  }
  for (const who of ['tick', 'child'] as const) {
    const rs = results(logAtRestore2, who);
    assert.ok(rs.every((r) => r.res === 'ok'), `every write to fd ${FD} succeeds:\n${lines(w.log).slice(logAtRestore2).join('\n')}`);
  }
  rmSync(lab.stopFile);

  // Restore 3, in the foreground: the root's fd 7 is ckpt restore's own stdout (-), the child's
  // a descriptor ckpt restore inherited (&3: a pipe the test reads).
  const toChild = lab.pipe(3);
  const logAtRestore3 = lines(w.log).length;
  const bg = restoreForeground(lab, image, before, ['--fd', `${FD}=-`, '--fd', `${child}:${FD}=&3`], [toChild.writeFd]);
  toChild.closeWriteEnd();
  await waitSameTree(before, bg, w.log);
  await until('the writes reaching ckpt restore\'s stdout and the inherited pipe', () => { alive(bg, w.log); return lines(w.log).slice(logAtRestore3).filter((l) => / ok$/.test(l)).length >= 10 && /^child /m.test(toChild.text()); }, { detail: () => tail(w.log) });
  lab.stop();
  const r = await lab.finish(bg);
  assert.equal(r.code, 0, `${describeRun(bg.args, r)}\n${tail(w.log)}`);
  const fromStdout = r.stdout.split('\n').filter((l) => l.length > 0);
  const fromPipe = toChild.text().split('\n').filter((l) => l.length > 0);
  assert.ok(fromStdout.length >= 3, `the root wrote on ckpt restore's stdout: ${JSON.stringify(r.stdout)}`);
  assert.deepEqual(fromStdout, Array.from({ length: fromStdout.length }, (_, i) => `parent ${lastSent('parent') + 1 + i}`), 'the root\'s writes on ckpt restore\'s stdout');
  assert.deepEqual(fromPipe, Array.from({ length: fromPipe.length }, (_, i) => `child ${lastSent('child') + 1 + i}`), 'the child\'s writes on the descriptor ckpt restore inherited');
  assert.ok(results(logAtRestore3, 'tick').every((x) => x.res === 'ok') && results(logAtRestore3, 'child').every((x) => x.res === 'ok'), lines(w.log).slice(logAtRestore3).join('\n'));
});
