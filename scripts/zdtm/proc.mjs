// /proc helpers. The runner is plain Node: it cannot be a child subreaper, so
// the tests it starts (daemons, reparented to PID 1) are watched through /proc
// and killed by PID, never by name.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The fields of /proc/PID/stat the runner uses, or null once the PID is gone (reaped). */
export function readStat(pid) {
  let s;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = s.lastIndexOf(')'); // the name may hold spaces and parentheses
  const f = s.slice(close + 2).split(' '); // f[0] is field 3 (state)
  return {
    pid,
    comm: s.slice(s.indexOf('(') + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    session: Number(f[3]),
    starttime: f[19],
    exitCode: f.length >= 50 ? Number(f[49]) : null, // field 52: waitpid-style status, set once it is a zombie
  };
}

/** Running (or stopped): present and not a zombie. */
export function alive(pid) {
  const st = readStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

export function allStats() {
  const out = [];
  for (const d of readdirSync('/proc')) if (/^\d+$/.test(d)) { const st = readStat(Number(d)); if (st) out.push(st); }
  return out;
}

/** PIDs in the session led by `sid`, and every descendant of `root` (a test's children may have changed session). */
export function familyOf(root, sid = root) {
  const all = allStats();
  const found = new Set(all.filter((s) => s.session === sid).map((s) => s.pid));
  found.add(root);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of all) if (found.has(s.ppid) && !found.has(s.pid)) { found.add(s.pid); grew = true; }
  }
  return [...found];
}

export function kill(pid, sig = 'SIGKILL') {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Poll `pred` until it is true or `deadline` (a Date.now() value) passes; true if it held. */
export async function until(pred, deadline, every = 25) {
  for (;;) {
    if (pred()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(every);
  }
}

/** How a zombie ended, from its waitpid-style status. */
export function describeStatus(status) {
  if (status === null || status === undefined) return 'unknown status';
  if ((status & 0x7f) === 0) return `exit status ${(status >> 8) & 0xff}`;
  const sig = status & 0x7f;
  const name = Object.entries(constants.signals).find(([, n]) => n === sig)?.[0] ?? `signal ${sig}`;
  return `killed by ${name}${status & 0x80 ? ' (core dumped)' : ''}`;
}

/**
 * Run a command to completion with a deadline; kill it by PID when it passes.
 * Resolves { code, signal, stdout, stderr, ms, timedOut }.
 */
export function run(cmd, args, { timeoutMs, ...opts } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { ...opts, stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (d) => { stdout += d; });
    child.stderr?.on('data', (d) => { stderr += d; });
    const timer = timeoutMs ? setTimeout(() => { timedOut = true; kill(child.pid); }, timeoutMs) : null;
    const done = (code, signal, err) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr: err ? `${stderr}${err.message}` : stderr, ms: performance.now() - t0, timedOut, pid: child.pid });
    };
    let finished = false;
    const once = (...a) => { if (!finished) { finished = true; done(...a); } };
    child.on('error', (e) => once(null, null, e));
    child.on('close', (code, signal) => once(code, signal));
    // A process it left behind may hold its stdout: do not wait for that.
    child.on('exit', (code, signal) => setTimeout(() => once(code, signal), 500).unref());
  });
}

/**
 * Detach whatever is mounted below `dir` (a host-flavour test may mount in its
 * own directory and leave it for CRIU's runner to clean), deepest first, so
 * the directory can be removed.
 */
export function unmountUnder(dir) {
  const unescape = (p) => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? '')).filter((m) => m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const m of points) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  return points;
}
