// What the target is made of, from /proc, before and after the freeze: its
// threads, children, and file descriptors with the kind that will save each.
import { readdirSync, readFileSync, readlinkSync, statSync, existsSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { parseStat, PF_KTHREAD } from '../proc/stat.js';
import { parseStatus } from '../proc/status.js';
import { parseFdinfo } from '../proc/fdinfo.js';
import { detectKind, unsupportedReason, type FdFacts, type FdKind } from '../kinds/index.js';
import { getpid } from '../sys/index.js';
import { childrenOf } from '../tracee/frozen-tree.js';

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
  refuseSeccomp(pid, status.seccomp);
  if (status.tgid !== pid) throw new CkptError('USAGE', `${pid} is a thread of process ${status.tgid}; give the process ID`, { pid });
  if (status.tracerPid !== 0 && !(tracedByUs && status.tracerPid === getpid())) {
    let who = '';
    try { who = readFileSync(`/proc/${status.tracerPid}/comm`, 'utf8').trim(); } catch { /* gone */ }
    throw new CkptError('PERMISSION', `process ${pid} is already traced by PID ${status.tracerPid}${who ? ` (${who})` : ''}`, { pid, hint: 'detach the debugger or tracer first' });
  }
}

export const threadsOf = (pid: number) => readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);

/** The tree as /proc shows it now (not frozen): `root` and its descendants, parents first; zombies apart. */
export function listTree(root: number): { live: number[]; zombies: number[] } {
  const live: number[] = [];
  const zombies: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    let state = '';
    try { state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0); } catch { continue; }
    if (pid !== root && (state === 'Z' || state === 'X')) { zombies.push(pid); continue; }
    live.push(pid);
    queue.push(...childrenOf(pid));
  }
  return { live, zombies };
}

export function fdFacts(pid: number, tree?: FdFacts[]): FdFacts[] {
  const out: FdFacts[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch (e) {
    // A child that exited since it was listed has no fds; the freeze finds it a zombie or gone.
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
  for (const name of names) {
    const fd = Number(name);
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const stat = statSync(`/proc/${pid}/fd/${fd}`);
      const info = parseFdinfo(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      out.push({ pid, fd, link, stat, info, peers: out, tree: tree ?? out });
    } catch { /* closed meanwhile */ }
  }
  out.sort((a, b) => a.fd - b.fd);
  tree?.push(...out);
  return out;
}

/** Every fd of every process, each with the kind that will save it; kinds see the whole tree. */
export function planTreeFds(pids: number[]): Map<number, FdPlan[]> {
  const tree: FdFacts[] = [];
  const facts = pids.map((pid) => [pid, fdFacts(pid, tree)] as const);
  return new Map(facts.map(([pid, fs]) => [pid, fs.map((f) => {
    const kind = detectKind(f);
    return kind ? { facts: f, kind } : { facts: f, reason: unsupportedReason(f) };
  })]));
}

export function planFds(pid: number): FdPlan[] {
  return planTreeFds([pid]).get(pid)!;
}

/**
 * A process under seccomp cannot be checkpointed yet: its filters are not
 * saved, and a syscall ckpt runs inside it could be refused or kill it (strict
 * mode allows only read, write, exit and sigreturn). Refused before anything
 * is done to it.
 */
function refuseSeccomp(pid: number, mode: number): void {
  if (mode === 1) throw new CkptError('KIND_UNSUPPORTED', `process ${pid} runs in seccomp strict mode (not supported yet)`, { pid, hint: 'nothing was done to the process' });
  if (mode === 2) throw new CkptError('KIND_UNSUPPORTED', `process ${pid} has seccomp filters (not supported yet)`, { pid, hint: 'nothing was done to the process' });
}

/** Everything that blocks a checkpoint of this process (as a member of its tree). */
export function blockers(pid: number, fds: FdPlan[], root = pid): string[] {
  const out: string[] = [];
  try {
    // A leader thread that has exited while others run (a process that exited altogether is just a zombie).
    const state = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
    const others = readdirSync(`/proc/${pid}/task`).length > 1;
    if (state === 'Z' && others) out.push(`${pid !== root ? `process ${pid}: ` : ''}its main thread has exited while other threads run (not supported)`);
    const seccomp = Number(/^Seccomp:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    if (seccomp) out.push(`${pid !== root ? `process ${pid}: ` : ''}seccomp ${seccomp === 1 ? 'strict mode' : 'filters'} (not supported yet)`);
  } catch { /* gone: caught later */ }
  for (const f of fds) if (f.reason) out.push(`${pid !== root ? `process ${pid} ` : ''}fd ${f.facts.fd}: ${f.reason}`);
  return out;
}
