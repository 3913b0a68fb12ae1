// The processes the benchmark starts: running ckpt, reading a child's output,
// killing and reaping (restored processes too), and the final cleanup that
// leaves nothing behind, even on failure or ^C.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, sleep } from './common.mjs';

/** ckpt's system calls (dist/src/sys), loaded by setup(). */
export let sys;
/** The temporary directory of this run (images, workloads, logs), made by setup(). */
export let work;
const children = new Set(); // ChildProcess objects still running
/** Restored (or posix_spawn'ed) PIDs not reaped yet. */
export const orphans = new Set();

/**
 * Load ckpt's system calls and make this script a child subreaper: the
 * restored process is a child of `ckpt restore`, which exits at once; this
 * script inherits it and can reap it itself. Then make the work directory.
 */
export async function setup(dir) {
  sys = await import(join(ROOT, 'dist/src/sys/index.js'));
  sys.setChildSubreaper();
  work = mkdtempSync(join(dir ?? tmpdir(), 'ckpt-bench-'));
  return work;
}

export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Exit code or signal name of a child, once `event` ('exit' or 'close') fires; an error after timeoutMs. */
export function ended(child, event, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} still running after ${timeoutMs / 1000} s`)), timeoutMs);
    child.once(event, (code, sig) => { clearTimeout(t); resolve(sig ?? code); });
  });
}

/** Run ckpt to completion (for dump: its output pipes are its own, nobody else holds them). */
export async function runCkpt(args) {
  const c = track(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  c.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
  c.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
  const status = await ended(c, 'close', 600_000, `node dist/src/cli/main.js ${args.join(' ')}`);
  return { status, stdout, stderr };
}

export function ckptFailed(args, status, stdout, stderr) {
  return new Error(`ckpt failed (exit ${status}): node dist/src/cli/main.js ${args.join(' ')}\n${[stdout, stderr].filter(Boolean).join('\n').trim()}`);
}

/** Returns expect(regex, what, timeoutMs): resolves with the first match in the stream's unread text. */
export function reader(stream, name) {
  let text = '';
  let ended = false;
  let wake = () => {};
  stream.setEncoding('utf8');
  stream.on('data', (s) => { text += s; wake(); });
  stream.on('end', () => { ended = true; wake(); });
  return async (re, what, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(text);
      if (m) { text = text.slice(m.index + m[0].length); return m; }
      if (ended) throw new Error(`${name} closed its output before printing ${what} (got ${JSON.stringify(text.slice(0, 500))})`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} from ${name}`);
      await new Promise((r) => { const t = setTimeout(r, 200); wake = () => { clearTimeout(t); r(); }; });
    }
  };
}

/** Kill a restored process (our child once its ckpt restore has exited) and reap it. */
export async function killAndReap(pid) {
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(2)) {
    let reaped;
    try { reaped = sys.tryWait(pid, 0); } catch { reaped = ['Z', undefined].includes(procState(pid)); /* not our child */ }
    if (reaped) return orphans.delete(pid);
  }
  throw new Error(`restored process ${pid} did not go away after SIGKILL`);
}

/**
 * SIGKILL a process started by this script (a child, or one restored by a
 * child) and wait until its PID is gone, reaping it if it is our child. A PID
 * that is no longer ours (gone, or reused by a stranger) is left alone.
 */
export async function killGone(pid) {
  if (isOurs(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(2)) {
    try { sys.tryWait(pid, 0); } catch { /* not our child: whoever its parent is reaps it */ }
    if (procState(pid) === undefined || !isOurs(pid)) { orphans.delete(pid); return; }
  }
  throw new Error(`process ${pid} did not go away after SIGKILL (state ${procState(pid)})`);
}

/** Is pid our child, or the child of a ckpt this script started that is still running? */
function isOurs(pid) {
  const parent = ppidOf(pid);
  return parent === process.pid || [...children].some((c) => c.pid === parent && c.exitCode === null && c.signalCode === null);
}

export function procState(pid) {
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]; } catch { return undefined; }
}

function ppidOf(pid) {
  try { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]); } catch { return 0; }
}

function ourChildren() {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => ppidOf(pid) === process.pid);
}

/**
 * Kill everything still alive that this script started, and delete the temp
 * directory. Node reaps the children it spawned in its event loop, unless the
 * script is exiting on a signal; restored processes, and anything else a dead
 * `ckpt restore` left to this subreaper, are reaped here.
 */
export function cleanup(exiting) {
  const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const live = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of live) c.kill('SIGKILL');
  // Only PIDs that are still ours (our child, or a child of a ckpt we started): never a reused PID.
  const ours = new Set([process.pid, ...live.map((c) => c.pid)]);
  for (const pid of orphans) if (ours.has(ppidOf(pid))) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  // Once a killed ckpt restore is dead, whatever it left behind is our child.
  for (let i = 0; i < 400 && live.some((c) => !['Z', undefined].includes(procState(c.pid))); i++) nap(5);
  const spawned = new Set(live.map((c) => c.pid));
  const strays = ourChildren().filter((pid) => !spawned.has(pid));
  for (const pid of strays) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  for (const pid of exiting ? [...strays, ...spawned] : strays) {
    for (let i = 0; i < 1000; i++) {
      try { if (sys.tryWait(pid, 0)) break; } catch { break; /* already reaped */ }
      nap(5);
    }
  }
  orphans.clear();
  if (work) rmSync(work, { recursive: true, force: true });
}
