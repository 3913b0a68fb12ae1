// Helpers for the live tests: real processes, real files, the ckpt CLI run
// as a subprocess. Nothing here sleeps for a fixed time: every wait polls a
// condition against a generous deadline. Every process a test starts (and
// every PID it restores) is killed by PID when the test ends, pass or fail.
//
// Run: npx tsc -p . && node --test --test-concurrency=1 dist/test/live/
// (as root: restoring a PID needs CAP_SYS_ADMIN; gcc, python3, perl, gdb,
// readelf, mkfifo and unshare are used). CKPT_CLI=path/to/main.js tests
// another build of the CLI; CKPT_KEEP=1 keeps the temp dirs for a look.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import koffi from 'koffi';

/** The CLI under test (CKPT_CLI overrides, e.g. to try another build). */
export const CKPT = process.env.CKPT_CLI ?? fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Workload sources: test/workloads of the repository (not compiled by tsc). */
export const WORKLOADS = fileURLToPath(new URL('../../../test/workloads/', import.meta.url));

export const DEADLINE_MS = 30_000;
const POLL_MS = 15;

export const EXIT = {
  USAGE: 2, NO_SUCH_PROCESS: 3, PERMISSION: 4, KIND_UNSUPPORTED: 5, TARGET_GONE: 6, IMAGE_CORRUPT: 7, IMAGE_VERSION: 8,
  IMAGE_NOT_FOUND: 9, FILE_CHANGED: 10, PID_TAKEN: 11, IO: 12, INTERNAL: 70,
} as const;

const tick = () => new Promise<void>((r) => setTimeout(r, POLL_MS));

/**
 * Poll `cond` until it returns something other than undefined/false/null;
 * resolve with that value. On timeout, fail with `what` and `detail()`.
 */
export async function until<T>(what: string, cond: () => T | undefined | null | false | Promise<T | undefined | null | false>, opts: { timeoutMs?: number; detail?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEADLINE_MS);
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > deadline) {
      let d = '';
      try { d = opts.detail?.() ?? ''; } catch (e) { d = String(e); }
      throw new Error(`timed out after ${(opts.timeoutMs ?? DEADLINE_MS) / 1000} s waiting for ${what}${d ? `\n${d}` : ''}`);
    }
    await tick();
  }
}

/** Process state letter from /proc/PID/stat, or undefined when there is no such process. */
export function procState(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
  } catch {
    return undefined;
  }
}

/** Running (or sleeping, or stopped): not gone and not a zombie. */
export function isAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

export function exeOf(pid: number): string | undefined {
  try { return readlinkSync(`/proc/${pid}/exe`); } catch { return undefined; }
}

export function tracerOf(pid: number): number {
  const m = /^TracerPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : -1;
}

/** The system call a blocked process is in (first field of /proc/PID/syscall), or -1 when running. */
export function syscallOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/syscall`, 'utf8').trim().split(' ')[0];
    return f === 'running' ? -1 : Number(f);
  } catch {
    return -2;
  }
}

/** Wait until no process (not even a zombie) has this PID. */
export function waitGone(pid: number, timeoutMs = DEADLINE_MS): Promise<true> {
  return until(`PID ${pid} to be gone`, () => procState(pid) === undefined, { timeoutMs });
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function describeRun(args: string[], r: RunResult): string {
  return `ckpt ${args.join(' ')} -> ${r.code ?? r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

/** Run any program to completion (asynchronously: the event loop keeps reaping workloads). */
export function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? testEnv(), timeout: opts.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') { reject(err); return; }
      const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

// ---------------------------------------------------------------------------
// Compiling the C workloads, once per test process.

let binDir: string | undefined;
const compiled = new Map<string, Promise<string>>();

process.on('exit', () => {
  if (binDir && !process.env.CKPT_KEEP) rmSync(binDir, { recursive: true, force: true });
});

/** Compile test/workloads/NAME.c (with -g, for gdb) into a temp dir; returns the program path. */
export function compile(name: string): Promise<string> {
  let p = compiled.get(name);
  if (!p) {
    binDir ??= mkdtempSync(join(tmpdir(), 'ckpt-live-bin-'));
    const out = join(binDir, name);
    p = run('gcc', ['-g', '-O0', '-Wall', '-Wextra', '-Werror', '-o', out, join(WORKLOADS, `${name}.c`)]).then((r) => {
      if (r.code !== 0) throw new Error(`gcc ${name}.c failed:\n${r.stderr}`);
      return out;
    });
    compiled.set(name, p);
  }
  return p;
}

let python: Promise<string> | undefined;
/** The real python3 executable (not a pyenv shim script). */
export function python3(): Promise<string> {
  python ??= run('python3', ['-c', 'import sys; print(sys.executable)']).then((r) => {
    if (r.code !== 0) throw new Error(`python3 not usable: ${r.stderr}`);
    return r.stdout.trim();
  });
  return python;
}

// ---------------------------------------------------------------------------
// A test's world: a temp dir, the processes it started, and the ckpt runs.

export interface Workload {
  pid: number;
  child: ChildProcess;
  /** Where its stdout and stderr go. */
  log: string;
  /** Resolves when the original process (a child of the test) ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The program started. */
  cmd: string;
  /** The inherited pipe asked for with `start(..., { extraFd })`. */
  extra?: InheritedPipe;
}

export interface Background {
  child: ChildProcess;
  args: string[];
  result: Promise<RunResult>;
  /** Set once the process has ended. */
  ended?: RunResult;
}

export class Lab {
  readonly dir: string;
  readonly stopFile: string;
  /** PIDs to kill at the end, with the program they must be running to be ours. */
  private readonly owned = new Map<number, string | undefined>();
  private readonly children = new Set<ChildProcess>();
  /** Roots of process trees whose every member is killed at the end. */
  private readonly trees = new Map<number, string | undefined>();
  private readonly pipes = new Set<InheritedPipe>();

  private constructor(readonly name: string) {
    this.dir = mkdtempSync(join(tmpdir(), `ckpt-live-${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}-`));
    this.stopFile = join(this.dir, 'STOP');
  }

  /** A new lab for test `t`, cleaned up (processes killed, dir removed) when the test ends. */
  static create(t: TestContext): Lab {
    const lab = new Lab(t.name);
    t.after(() => lab.cleanup());
    return lab;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Start a workload with stdin /dev/null and stdout+stderr into `log` (a
   * file in the lab), and no other open descriptor (see workloads/launch.c).
   */
  async start(cmd: string, args: string[] = [], opts: { log?: string; append?: boolean; env?: Record<string, string>; cwd?: string; extraFd?: number } = {}): Promise<Workload> {
    const launcher = await compile('launch');
    const log = opts.log ?? this.path('out.log');
    const fd = openSync(log, opts.append ? 'a' : 'w');
    let child: ChildProcess;
    let extra: InheritedPipe | undefined;
    try {
      // With extraFd: the write end of a pipe whose read end the test keeps is
      // the workload's descriptor extraFd, as a CI runner leaves one.
      extra = opts.extraFd === undefined ? undefined : new InheritedPipe(opts.extraFd);
      if (extra) this.pipes.add(extra);
      const stdio: ('ignore' | number)[] = ['ignore', fd, fd];
      if (extra) {
        while (stdio.length < extra.fd) stdio.push('ignore');
        stdio.push(extra.writeFd);
      }
      child = spawn(launcher, [...(extra ? ['--keep-fd', String(extra.fd)] : []), cmd, ...args], {
        cwd: opts.cwd ?? this.dir,
        stdio,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C', STOP_FILE: this.stopFile, ...opts.env },
      });
    } finally {
      closeSync(fd);
      extra?.closeWriteEnd();
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot start ${cmd}`);
    this.children.add(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    child.on('error', () => { /* reported through exited/timeouts */ });
    this.own(pid, cmd);
    // The launcher execs the workload at once; wait until it has.
    await until(`${cmd} to start`, () => exeOf(pid) !== launcher);
    return { pid, child, log, exited, cmd, extra };
  }

  /**
   * Kill the whole tree under `root` when the test ends (and, from now, each
   * process in it by PID even if it is orphaned meanwhile). Call it again
   * after a restore to take in the restored processes.
   */
  ownTree(root: number, exe?: string): void {
    if (!this.trees.has(root)) this.trees.set(root, exe ?? exeOf(root));
    this.own(root, exe ?? exeOf(root));
    for (const p of treeOf(root)) this.own(p.pid, exeOf(p.pid));
  }

  /**
   * Run `fn` while the machine is busy: one CPU-bound shell loop per CPU,
   * killed (and waited for) afterwards, whatever `fn` does.
   */
  async busy<T>(fn: () => Promise<T>): Promise<T> {
    const hogs: Workload[] = [];
    try {
      for (let i = 0; i < availableParallelism(); i++) hogs.push(await this.start('sh', ['-c', 'while :; do :; done'], { log: this.path(`hog${i}.log`) }));
      await until('the CPU hogs to be running', () => hogs.every((h) => procState(h.pid) === 'R'));
      return await fn();
    } finally {
      for (const h of hogs) try { process.kill(h.pid, 'SIGKILL'); } catch { /* gone */ }
      for (const h of hogs) { await h.exited; await waitGone(h.pid); }
    }
  }

  /** A pipe of the test's own (closed when the test ends), to hand its write end to a program as descriptor `fd`. */
  pipe(fd: number): InheritedPipe {
    const p = new InheritedPipe(fd);
    this.pipes.add(p);
    return p;
  }

  /** Kill `pid` when the test ends (only while it still runs `exe`, to never hit a reused PID). */
  own(pid: number, exe?: string): void {
    if (!this.owned.has(pid)) this.owned.set(pid, exe);
  }

  /** Run the ckpt CLI to completion, in the lab's directory. */
  ckpt(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
    return run(process.execPath, [CKPT, ...args], { cwd: opts.cwd ?? this.dir, timeoutMs: opts.timeoutMs ?? 60_000, env: testEnv() });
  }

  /** Run ckpt and require exit 0. */
  async ckptOk(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
    const r = await this.ckpt(args, opts);
    assert.equal(r.code, 0, describeRun(args, r));
    return r;
  }

  /**
   * Start ckpt without waiting (e.g. a foreground `restore` that lasts as long
   * as the program). `fds`: descriptors of the test that ckpt inherits as its
   * 3, 4, ...
   */
  ckptBackground(args: string[], opts: { fds?: number[] } = {}): Background {
    const child = spawn(process.execPath, [CKPT, ...args], { cwd: this.dir, env: testEnv(), stdio: ['ignore', 'pipe', 'pipe', ...(opts.fds ?? [])] });
    this.children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    const b: Background = { child, args, result: undefined as unknown as Promise<RunResult> };
    b.result = new Promise<RunResult>((resolve) => {
      child.on('close', (code, signal) => {
        b.ended = { code, signal, stdout, stderr };
        resolve(b.ended);
      });
    });
    return b;
  }

  /**
   * Wait for tick `n` in `log` while `bg` (a foreground restore) runs: fail at
   * once, with its output, if it ends first.
   */
  waitTickWhile(bg: Background, log: string, n: number, timeoutMs = DEADLINE_MS): Promise<number> {
    return until(`tick ${n} in ${log}`, () => {
      const t = lastTick(log);
      if (t >= n) return t;
      if (bg.ended) throw new Error(`the restored program ended before tick ${n}: ${describeRun(bg.args, bg.ended)}\n${tail(log)}`);
      return undefined;
    }, { timeoutMs, detail: () => `${tail(log)}\n--- ckpt stderr ---\n${bg.ended?.stderr ?? '(still running)'}` });
  }

  /**
   * The usual cycle: wait for tick `before`, `dump --kill`, restore in the
   * foreground, wait for `more` further ticks, stop the workload and expect
   * it to exit 0 (it checks itself). The counter must go on exactly.
   */
  async roundTrip(w: Workload, opts: { before?: number; more?: number; image?: string; afterDump?: () => Promise<void> | void; afterRestore?: (k: number) => Promise<void> | void } = {}): Promise<{ dumpedAt: number; restore: RunResult; image: string }> {
    const image = opts.image ?? this.path('img.ckpt');
    await waitTick(w.log, opts.before ?? 5);
    await this.dumpKill(w.pid, image);
    const dumpedAt = lastTick(w.log);
    await opts.afterDump?.();
    const bg = this.ckptBackground(['restore', image]);
    this.own(w.pid, w.cmd);
    await this.waitTickWhile(bg, w.log, dumpedAt + (opts.more ?? 5));
    await opts.afterRestore?.(dumpedAt);
    this.stop();
    const restore = await this.finish(bg);
    assert.equal(restore.code, 0, `the restored program did not exit 0: ${describeRun(bg.args, restore)}\n${tail(w.log)}`);
    assertCounter(w.log, dumpedAt + (opts.more ?? 5) + 1);
    assert.match(readLog(w.log), /^done$/m, tail(w.log));
    return { dumpedAt, restore, image };
  }

  /** Wait for a background ckpt to end (bounded), returning its result. */
  async finish(b: Background, timeoutMs = DEADLINE_MS): Promise<RunResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`ckpt ${b.args.join(' ')} did not end within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      return await Promise.race([b.result, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `ckpt dump PID -o IMG --kill`, then wait until the PID is free. */
  async dumpKill(pid: number, image: string, extra: string[] = []): Promise<RunResult> {
    const r = await this.ckptOk(['dump', String(pid), '-o', image, '--kill', ...extra]);
    await waitGone(pid);
    return r;
  }

  /** `ckpt restore IMG --json`: the restored program runs detached; returns the parsed result. */
  async restoreDetached(image: string, exe?: string): Promise<{ pid: number; notices: string[]; ms: number }> {
    const r = await this.ckptOk(['restore', image, '--json']);
    const out = JSON.parse(r.stdout) as { pid: number; notices: string[]; ms: number };
    this.own(out.pid, exe);
    return out;
  }

  /** Request a clean end of the workloads (they poll $STOP_FILE). */
  stop(): void {
    writeFileSync(this.stopFile, '');
  }

  /** Files in the lab directory, for "nothing left behind" checks. */
  files(dir = this.dir): string[] {
    return readdirSync(dir).sort();
  }

  async cleanup(): Promise<void> {
    for (const [root, exe] of this.trees) {
      const now = exeOf(root);
      if (!isAlive(root) || (exe && now && !sameProgram(exe, now))) continue;
      for (const pid of freezeTree(root)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const p of this.pipes) p.close();
    for (const [pid, exe] of this.owned) {
      if (!isAlive(pid)) continue;
      const now = exeOf(pid);
      if (exe && now && !sameProgram(exe, now)) continue; // the PID was reused by something else
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) try { c.kill('SIGKILL'); } catch { /* gone */ }
    }
    // Give the kills a moment to land (bounded), so the next test starts clean.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && [...this.owned.keys()].some((p) => isAlive(p) && (!this.owned.get(p) || sameProgram(this.owned.get(p)!, exeOf(p) ?? '')))) await tick();
    if (!process.env.CKPT_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

function sameProgram(started: string, exe: string): boolean {
  if (started === exe) return true;
  const base = (p: string) => p.replace(/ \(deleted\)$/, '').split('/').pop() ?? p;
  // Started by name (perl, python3): the exe is the real binary (perl5.36.0, python3.11).
  return base(exe).startsWith(base(started).replace(/\d.*$/, ''));
}

// ---------------------------------------------------------------------------
// Reading workload output.

export function readLog(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

export function lines(path: string): string[] {
  return readLog(path).split('\n').filter((l) => l.length > 0);
}

/** The N of every "tick N ..." line, in order. */
export function ticks(path: string): number[] {
  return lines(path).map((l) => /^tick (\d+)\b/.exec(l)).filter((m) => m !== null).map((m) => Number(m![1]));
}

export function lastTick(path: string): number {
  const t = ticks(path);
  return t.length ? t[t.length - 1] : -1;
}

/** Wait until the log has a "tick N" line with N >= n; returns the last tick. */
export function waitTick(path: string, n: number, timeoutMs = DEADLINE_MS): Promise<number> {
  return until(`tick ${n} in ${path}`, () => { const t = lastTick(path); return t >= n ? t : undefined; }, { timeoutMs, detail: () => tail(path) });
}

/** Wait until some line of the log matches `re`; returns the match. */
export function waitLine(path: string, re: RegExp, timeoutMs = DEADLINE_MS): Promise<RegExpExecArray> {
  return until(`a line matching ${re} in ${path}`, () => {
    for (const l of lines(path)) { const m = re.exec(l); if (m) return m; }
    return undefined;
  }, { timeoutMs, detail: () => tail(path) });
}

export function tail(path: string, n = 30): string {
  const all = lines(path);
  return `--- ${path} (${all.length} lines, last ${Math.min(n, all.length)}) ---\n${all.slice(-n).join('\n')}`;
}

/** Ticks are exactly 0, 1, 2, ... (no gap, no repeat) and there are at least `min`. */
export function assertCounter(path: string, min: number): number[] {
  const t = ticks(path);
  assert.ok(t.length >= min, `expected at least ${min} ticks\n${tail(path)}`);
  t.forEach((v, i) => assert.equal(v, i, `tick #${i} is ${v}: the counter did not continue exactly\n${tail(path, 60)}`));
  assert.ok(!lines(path).some((l) => l.startsWith('FAIL')), `the workload reported a failure\n${tail(path)}`);
  return t;
}



// ---------------------------------------------------------------------------
// Process trees, from /proc.

export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  comm: string;
  /** State letter: R, S, D, Z, T, t, ... */
  state: string;
}

/** Fields of /proc/PID/stat, or undefined when there is no such process. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return { pid, comm: text.slice(open + 1, close), state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), sid: Number(f[3]) };
}

/** Every process on the machine (thread-group leaders), from /proc. */
export function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = procStat(Number(e));
    if (s) out.push(s);
  }
  return out;
}

/** `root` and all its descendants (zombies included), parents before children; empty when root is gone. */
export function treeOf(root: number): ProcStat[] {
  const all = allProcesses();
  const top = all.find((p) => p.pid === root);
  if (!top) return [];
  const kids = new Map<number, ProcStat[]>();
  for (const p of all) {
    if (p.pid === root) continue;
    const l = kids.get(p.ppid);
    if (l) l.push(p); else kids.set(p.ppid, [p]);
  }
  const out = [top];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i].pid) ?? []).sort((a, b) => a.pid - b.pid));
  return out;
}

/**
 * SIGSTOP every process of the tree, again and again until no new one
 * appears (a stopped process forks no more); returns every PID seen. The
 * caller then kills them: no member escapes by forking meanwhile.
 */
export function freezeTree(root: number): number[] {
  const seen = new Set<number>();
  for (let round = 0; round < 50; round++) {
    let grew = false;
    for (const p of treeOf(root)) {
      if (seen.has(p.pid)) continue;
      seen.add(p.pid);
      grew = true;
      if (p.state !== 'Z') try { process.kill(p.pid, 'SIGSTOP'); } catch { /* gone */ }
    }
    if (!grew) break;
  }
  return [...seen];
}

// ---------------------------------------------------------------------------
// An anonymous pipe of the test's own, handed to a workload.

const libc = koffi.load('libc.so.6');
const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');
const O_CLOEXEC = 0o2000000;

/**
 * A real pipe (not the socketpair Node makes for `stdio: 'pipe'`): its write
 * end becomes descriptor `fd` of a workload, its read end stays in the test,
 * which collects everything written (`text()`). Both ends are close-on-exec
 * on the test's side, so no other program inherits them.
 */
export class InheritedPipe {
  readonly writeFd: number;
  readonly readFd: number;
  private writeOpen = true;
  private readonly sock: net.Socket;
  private readonly chunks: Buffer[] = [];
  /** Set once the read end saw end-of-file (no writer left). */
  eof = false;

  constructor(readonly fd: number) {
    const fds = [0, 0];
    if (pipe2(fds, O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: errno ${koffi.errno()}`);
    [this.readFd, this.writeFd] = fds;
    this.sock = new net.Socket({ fd: this.readFd, readable: true, writable: false });
    this.sock.on('data', (d: Buffer) => this.chunks.push(d));
    this.sock.on('end', () => { this.eof = true; });
    this.sock.on('error', () => { /* closed under us at cleanup */ });
  }

  /** What the workload wrote so far. */
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** The test's copy of the write end (the workload has its own). */
  closeWriteEnd(): void {
    if (this.writeOpen) { this.writeOpen = false; closeSync(this.writeFd); }
  }

  close(): void {
    this.closeWriteEnd();
    this.sock.destroy();
  }
}
