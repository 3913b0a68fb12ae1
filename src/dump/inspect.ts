// What the target is made of, from /proc, before and after the freeze: its
// threads, children, and file descriptors with the kind that will save each.
import { readdirSync, readFileSync, readlinkSync, statSync, existsSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { parseStat, PF_KTHREAD } from '../proc/stat.js';
import { parseStatus } from '../proc/status.js';
import { parseFdinfo } from '../proc/fdinfo.js';
import { detectKind, unsupportedReason, type FdFacts, type FdKind } from '../kinds/index.js';
import { getpid } from '../sys/index.js';

export interface FdPlan { facts: FdFacts; kind?: FdKind<any>; reason?: string }

/** Refuse targets ckpt must never touch, with a clear reason. */
export function validateTarget(pid: number, tracedByUs = false): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new CkptError('USAGE', `not a process ID: ${pid}`);
  if (!existsSync(`/proc/${pid}/stat`)) throw new CkptError('NO_SUCH_PROCESS', `no process with PID ${pid}`, { pid });
  if (pid === 1) throw new CkptError('PERMISSION', 'PID 1 (the init process) cannot be checkpointed', { pid });
  if (pid === getpid()) throw new CkptError('USAGE', 'ckpt cannot checkpoint itself', { pid });
  let stat;
  try {
    stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (e) {
    throw new CkptError('NO_SUCH_PROCESS', `no process with PID ${pid}`, { pid, cause: e });
  }
  if (stat.flags & PF_KTHREAD) throw new CkptError('PERMISSION', `PID ${pid} (${stat.comm}) is a kernel thread, not a program`, { pid });
  if (stat.state === 'Z' || stat.state === 'X') throw new CkptError('TARGET_GONE', `PID ${pid} (${stat.comm}) has exited (a zombie)`, { pid });
  const status = parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (status.tgid !== pid) throw new CkptError('USAGE', `${pid} is a thread of process ${status.tgid}; give the process ID`, { pid });
  if (status.tracerPid !== 0 && !(tracedByUs && status.tracerPid === getpid())) {
    let who = '';
    try { who = readFileSync(`/proc/${status.tracerPid}/comm`, 'utf8').trim(); } catch { /* gone */ }
    throw new CkptError('PERMISSION', `process ${pid} is already traced by PID ${status.tracerPid}${who ? ` (${who})` : ''}`, { pid, hint: 'detach the debugger or tracer first' });
  }
}

export const threadsOf = (pid: number) => readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of threadsOf(pid)) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch { /* thread gone */ }
  }
  return out;
}

export function fdFacts(pid: number): FdFacts[] {
  const out: FdFacts[] = [];
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    const fd = Number(name);
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const stat = statSync(`/proc/${pid}/fd/${fd}`);
      const info = parseFdinfo(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      out.push({ pid, fd, link, stat, info, peers: out });
    } catch { /* closed meanwhile */ }
  }
  return out.sort((a, b) => a.fd - b.fd);
}

export function planFds(pid: number): FdPlan[] {
  return fdFacts(pid).map((facts) => {
    const kind = detectKind(facts);
    return kind ? { facts, kind } : { facts, reason: unsupportedReason(facts) };
  });
}

/** Everything that blocks a checkpoint of this (single-threaded, childless) process. */
export function blockers(pid: number, fds: FdPlan[]): string[] {
  const out: string[] = [];
  try {
    const state = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
    if (state === 'Z') out.push('its main thread has exited while other threads run (not supported)');
  } catch { /* gone: caught later */ }
  for (const c of childrenOf(pid)) {
    let comm = '';
    try { comm = readFileSync(`/proc/${c}/comm`, 'utf8').trim(); } catch { /* gone */ }
    out.push(`child process ${c}${comm ? ` (${comm})` : ''}: process trees are not supported yet`);
  }
  for (const f of fds) if (f.reason) out.push(`fd ${f.facts.fd}: ${f.reason}`);
  return out;
}
