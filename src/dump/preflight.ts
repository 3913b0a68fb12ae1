// `ckpt check`: what a dump would do with each thread, file descriptor and
// memory region of a process, and what blocks it — as data. Reads /proc only
// (and looks at sockets through ckpt's own copy of the fd, as planFds does):
// the target is never traced, stopped or changed.
import { existsSync, readFileSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { parseStat } from '../proc/stat.js';
import { parseMaps } from '../proc/maps.js';
import { planMemory, type VmaPlan, type ShmemSeen } from '../kinds/memory.js';
import { SYS, O, close } from '../sys/index.js';
import { grabFd, getsockoptInt, getsockname, getpeername, formatSockaddr, SOL_SOCKET, SO, AF } from '../sys/socket.js';
import { validateTarget, planTreeFds, blockers, threadsOf, listTree, type FdPlan } from './inspect.js';
import { nodeOf, planTree } from '../kinds/process-tree.js';
import { pipeIsInternal } from '../kinds/pipe.js';

export type Action = 'saved' | 'referenced' | 'reconnected' | 'recreated' | 'external' | 'blocks';

export interface ThreadReport {
  tid: number;
  name: string;
  /** State letter from /proc (R, S, D, T, t, Z...). */
  state: string;
  /** The system call it is blocked in (number), or null when running / not in a call. */
  syscall: number | null;
  /** "nanosleep (35)", "running", "not in a system call". */
  syscallName: string;
}

export interface FdReport {
  fd: number;
  /** What /proc says it is (readlink of /proc/PID/fd/N). */
  link: string;
  /** The kind tag that will save it, or null when no kind can. */
  kind: string | null;
  action: Action;
  /** What ckpt does with it, or why it blocks the checkpoint. */
  detail: string;
}

export interface MemoryReport {
  start: number;
  end: number;
  /** rwx plus p (private) or s (shared). */
  prot: string;
  name: string;
  backing: 'anon' | 'file' | 'special' | 'unknown';
  action: Action;
  /** Bytes the image would hold for this region. */
  savedBytes: number;
  detail: string;
}

/** One live process of the tree. */
export interface ProcessPreflight {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  comm: string;
  threads: ThreadReport[];
  fds: FdReport[];
  memory: MemoryReport[];
  memoryBytes: number;
}

/** The whole tree; the top-level threads, fds and memory are the root's. */
export interface Preflight extends ProcessPreflight {
  checkpointable: boolean;
  /** Every reason a dump would refuse, as `ckpt dump` words them. */
  blockers: string[];
  /** Every live process, the root first, parents before children. */
  processes: ProcessPreflight[];
  /** Children that have exited and are not reaped: saved as zombies. */
  zombies: Array<{ pid: number; ppid: number; comm: string }>;
  /** Memory to save for the whole tree. */
  treeMemoryBytes: number;
}

export interface PreflightOptions {
  /** As `dump --tcp-close`: established TCP connections would be saved as closed. */
  tcpClose?: boolean;
}

/** Build the report. Throws CkptError for a PID that cannot be a target at all. */
export function preflight(pid: number, opts: PreflightOptions = {}): Preflight {
  validateTarget(pid);
  try {
    return build(pid, opts);
  } catch (e) {
    if (!existsSync(`/proc/${pid}/stat`)) throw new CkptError('TARGET_GONE', `process ${pid} exited while being checked`, { pid, cause: e });
    throw e;
  }
}

function build(root: number, opts: PreflightOptions): Preflight {
  const listed = listTree(root);
  const plans = planTreeFds(listed.live);
  const problems: string[] = [];
  const shmem: ShmemSeen = new Map();
  const processes: ProcessPreflight[] = [];
  const openFiles = new Set([...plans.values()].flat().map((p) => `${p.facts.stat.dev}:${p.facts.stat.ino}`));
  for (const pid of listed.live) {
    try {
      processes.push(processReport(pid, root, plans.get(pid)!, opts, problems, shmem, openFiles));
    } catch (e) {
      if (pid === root || existsSync(`/proc/${pid}/stat`)) throw e; // (a child that just exited is simply not there)
    }
  }
  try {
    planTree([...listed.live, ...listed.zombies].map(nodeOf));
  } catch (e) {
    if (!(e instanceof CkptError)) throw e;
    problems.push(...((e.details.problems as string[] | undefined) ?? [e.message]));
  }
  const zombies = listed.zombies.map((z) => { const n = nodeOf(z); return { pid: z, ppid: n.ppid, comm: n.comm }; });
  const treeMemoryBytes = processes.reduce((n, p) => n + p.memoryBytes, 0);
  return { ...processes[0], checkpointable: problems.length === 0, blockers: problems, processes, zombies, treeMemoryBytes };
}

function processReport(pid: number, root: number, plans: FdPlan[], opts: PreflightOptions, problems: string[], shmem: ShmemSeen, openFiles: Set<string>): ProcessPreflight {
  const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const threads = threadsOf(pid).map((tid) => threadReport(pid, tid)).filter((t): t is ThreadReport => t !== undefined);
  const mine = blockers(pid, plans, root);
  const fds = plans.map((p) => fdReport(p, opts));
  const prefix = pid !== root ? `process ${pid} ` : '';
  // What the dump only finds out once frozen, while saving each fd (an established TCP connection...).
  for (const f of fds) {
    const listed = mine.some((b) => b.startsWith(`${prefix}fd ${f.fd}: `));
    if (f.action === 'blocks' && !listed) mine.push(`${prefix}fd ${f.fd}: ${f.detail}`);
  }
  const fdOf = (b: string) => Number(/fd (\d+): /.exec(b)?.[1] ?? -1);
  mine.sort((a, b) => fdOf(a) - fdOf(b)); // stable: what is not an fd first, as blockers() has it
  problems.push(...mine);
  let memory: MemoryReport[];
  try {
    memory = planMemory(pid, stat.startStack, shmem, openFiles).map(memoryReport);
  } catch (e) {
    if (!(e instanceof CkptError) || e.code !== 'KIND_UNSUPPORTED') throw e;
    problems.push(e.message);
    memory = unplannedMemory(pid, e.message);
  }
  const memoryBytes = memory.reduce((n, m) => n + m.savedBytes, 0);
  return { pid, ppid: stat.ppid, pgid: stat.pgrp, sid: stat.session, comm: stat.comm, threads, fds, memory, memoryBytes };
}

// ---------------------------------------------------------------------------
// Threads

const EXTRA_SYSCALLS: Record<number, string> = {
  7: 'poll', 23: 'select', 34: 'pause', 43: 'accept', 44: 'sendto', 45: 'recvfrom', 46: 'sendmsg', 47: 'recvmsg',
  128: 'rt_sigtimedwait', 130: 'rt_sigsuspend', 232: 'epoll_wait', 247: 'waitid', 270: 'pselect6', 271: 'ppoll',
  281: 'epoll_pwait', 288: 'accept4', 426: 'io_uring_enter', 441: 'epoll_pwait2', 19: 'readv', 20: 'writev',
};
const SYSCALL_NAMES: Record<number, string> = { ...EXTRA_SYSCALLS, ...Object.fromEntries(Object.entries(SYS).map(([k, v]) => [v, k])) };

function threadReport(pid: number, tid: number): ThreadReport | undefined {
  let st;
  let sc: string;
  try {
    st = parseStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    sc = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').trim();
  } catch {
    return undefined; // the thread ended meanwhile
  }
  const first = sc.split(' ')[0];
  if (first === 'running') return { tid, name: st.comm, state: st.state, syscall: null, syscallName: 'running' };
  const nr = Number(first);
  if (!Number.isInteger(nr) || nr < 0) return { tid, name: st.comm, state: st.state, syscall: null, syscallName: 'not in a system call' };
  const name = SYSCALL_NAMES[nr];
  return { tid, name: st.comm, state: st.state, syscall: nr, syscallName: name ? `${name} (${nr})` : `system call ${nr}` };
}

// ---------------------------------------------------------------------------
// File descriptors

function fdReport(p: FdPlan, opts: PreflightOptions): FdReport {
  const f = p.facts;
  const base = { fd: f.fd, link: f.link };
  if (!p.kind) return { ...base, kind: null, action: 'blocks', detail: p.reason ?? 'not supported' };
  const kind = p.kind.tag;
  const r = (action: Action, detail: string): FdReport => ({ ...base, kind, action, detail });
  const mode = accessMode(f.info.flags);
  switch (kind) {
    case 'file':
      return r('referenced', `reopened by path (${mode}${f.info.flags & O.APPEND ? ', append' : ''}) at offset ${f.info.pos}`);
    case 'deleted-file':
      return r('saved', `deleted file: content saved (${f.stat.size} bytes), recreated and unlinked again on restore`);
    case 'dir':
      return r('referenced', 'directory reopened by path');
    case 'chardev':
      return r('referenced', `device reopened by path (${mode})`);
    case 'fifo':
      return r('saved', `FIFO reopened by path (${mode}), data in flight saved`);
    case 'inherit':
      return r('reconnected', `connected to ckpt restore's own ${['stdin', 'stdout', 'stderr'][f.fd]}`);
    case 'pipe': {
      const end = (f.info.flags & O.ACCMODE) === O.RDONLY ? 'read' : 'write';
      if (!pipeIsInternal(f)) {
        return r('external', `pipe (${end} end) to a process outside the tree: restored with that process gone (${end === 'read' ? 'end-of-file after the saved data' : 'writes fail with EPIPE'}), or reconnected with restore --fd ${f.fd}=...`);
      }
      return r('saved', `pipe (${end} end) recreated with its state, data in flight saved`);
    }
    case 'eventfd':
    case 'epoll':
    case 'timerfd':
    case 'signalfd':
      return r('saved', `${kind} recreated with its state`);
    case 'inet-socket':
      return socketReport(p, opts, r);
    default:
      return r('saved', `saved as ${kind}`);
  }
}

function accessMode(flags: number): string {
  const m = flags & O.ACCMODE;
  return m === O.RDONLY ? 'read-only' : m === O.WRONLY ? 'write-only' : 'read-write';
}

const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

/** Listening, bound or connected: what `dump` will decide, asked the same way (ckpt's own copy of the fd). */
function socketReport(p: FdPlan, opts: PreflightOptions, r: (a: Action, d: string) => FdReport): FdReport {
  const f = p.facts;
  let mine: number;
  try {
    mine = grabFd(f.pid, f.fd);
  } catch {
    return r('saved', 'socket recreated (its state could not be looked at now)');
  }
  try {
    const family = getsockoptInt(mine, SOL_SOCKET, SO.DOMAIN) ?? 0;
    const type = getsockoptInt(mine, SOL_SOCKET, SO.TYPE) ?? 0;
    const listening = getsockoptInt(mine, SOL_SOCKET, SO.ACCEPTCONN) === 1;
    const local = getsockname(mine);
    const peer = getpeername(mine);
    const proto = `${type === SOCK_STREAM ? 'TCP' : type === SOCK_DGRAM ? 'UDP' : `type ${type}`}${family === AF.INET6 ? '/IPv6' : ''}`;
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM) return r('blocks', `socket type ${type} of family ${family} (not supported yet)`);
    if (type === SOCK_STREAM && peer && !listening) {
      const conn = `${formatSockaddr(local)} -> ${formatSockaddr(peer)}`;
      if (opts.tcpClose) return r('saved', `${proto} connection ${conn}: restored closed (--tcp-close)`);
      return r('blocks', `an established TCP connection ${conn} (use --tcp-close to restore it closed)`);
    }
    const port = local ? formatSockaddr(local).replace(/.*:/, '') : '0';
    const where = listening ? `listening on ${formatSockaddr(local)}` : port !== '0' ? `bound to ${formatSockaddr(local)}` : 'unbound';
    return r('saved', `${proto} socket recreated (${where}${peer && type === SOCK_DGRAM ? `, connected to ${formatSockaddr(peer)}` : ''})`);
  } finally {
    close(mine);
  }
}

// ---------------------------------------------------------------------------
// Memory

const sizeOf = (v: Pick<VmaPlan, 'runs'>) => v.runs.reduce((n, x) => n + x.end - x.start, 0);

function memoryReport(v: VmaPlan): MemoryReport {
  const base = { start: v.start, end: v.end, prot: v.prot + (v.shared ? 's' : 'p'), name: v.name, backing: v.backing };
  const saved = sizeOf(v);
  if (v.backing === 'special') return { ...base, action: 'recreated', savedBytes: 0, detail: `recreated by the kernel (${v.name.replace(/^\[|\]$/g, '')})` };
  if (v.backing === 'anon') {
    const what = v.name.endsWith(' (deleted)') ? ', mapping of a deleted file' : v.shared ? ', shared' : '';
    return { ...base, action: 'saved', savedBytes: saved, detail: `saved (${saved} bytes present${what})` };
  }
  if (v.shared) return { ...base, action: 'referenced', savedBytes: 0, detail: 'referenced (shared file, checked on restore)' };
  return { ...base, action: 'referenced', savedBytes: saved, detail: `referenced (file, ${saved} bytes copied-on-write saved)` };
}

/** When planMemory refuses (a shared mapping of a deleted file): the regions as /proc lists them, the culprit marked. */
function unplannedMemory(pid: number, reason: string): MemoryReport[] {
  return parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).filter((m) => m.path !== '[vsyscall]').map((m): MemoryReport => {
    const base = {
      start: m.start, end: m.end,
      prot: `${m.read ? 'r' : '-'}${m.write ? 'w' : '-'}${m.exec ? 'x' : '-'}${m.shared ? 's' : 'p'}`,
      name: m.deleted ? `${m.path} (deleted)` : m.path,
      backing: 'unknown' as const,
      savedBytes: 0,
    };
    if (m.shared && m.deleted && m.inode !== 0 && m.path !== '/dev/zero') return { ...base, action: 'blocks', detail: reason.replace(/ at 0x[0-9a-f]+/, '') };
    const action: Action = m.path.startsWith('[v') ? 'recreated' : m.inode === 0 || m.deleted ? 'saved' : 'referenced';
    return { ...base, action, detail: `${action} (not measured: the process cannot be checkpointed)` };
  });
}
