// The process tree: who is whose child, process groups, sessions, zombies.
// Dump reads the shape from /proc; restore creates every process by its real
// parent (clone3 with the saved PID, injected into the parent), in an order
// that lets each one reach its session and group with setsid/setpgid — the
// same plan is computed at dump, so a shape that cannot be rebuilt is refused
// there, by name, instead of coming back different.
import { readFileSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { parseStat } from '../proc/stat.js';
import { SYS, SIG, PR, waitFor, ptrace, setReg, ARG_REGS, syscallRaw } from '../sys/index.js';
import { Tracee } from '../tracee/tracee.js';
import type { Zombie } from '../image/format.js';
import type { Scratch } from '../tracee/scratch.js';

/** One process of the tree, as the plan needs it. */
export interface TreeNode {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  zombie?: { exitCode: number | null; signal: number | null };
  /** Shares its parent's fd table (CLONE_FILES). */
  filesOfParent?: boolean;
}

/** A group or session that lies outside the tree (the root inherited it): whatever ckpt restore has. */
export const OUTSIDE = -1;

export type TreeStep =
  | { op: 'fork'; parent: number; pid: number; shareFiles?: boolean }
  | { op: 'setsid'; pid: number }
  | { op: 'setpgid'; pid: number; pgid: number }
  | { op: 'exit'; pid: number; exitCode: number | null; signal: number | null }
  /** A process made only to lead process group `pid` for a moment (its leader has exited). */
  | { op: 'standIn'; parent: number; pid: number }
  | { op: 'reap'; parent: number; pid: number };

export { childrenOf } from '../tracee/frozen-tree.js';

/** What /proc says of a process's place in the tree. */
export function nodeOf(pid: number): TreeNode & { state: string; comm: string } {
  const st = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const node: TreeNode & { state: string; comm: string } = { pid, ppid: st.ppid, pgid: st.pgrp, sid: st.session, state: st.state, comm: st.comm };
  if (st.state === 'Z' || st.state === 'X') {
    // Field 52 of stat is the wait status the parent will get.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).trim().split(' ');
    const status = Number(fields[52 - 3] ?? 0);
    node.zombie = (status & 0x7f) === 0 ? { exitCode: (status >> 8) & 0xff, signal: null } : { exitCode: null, signal: status & 0x7f };
  }
  return node;
}

export function zombieRecord(n: TreeNode & { comm: string }): Zombie {
  return { pid: n.pid, ppid: n.ppid, pgid: n.pgid, sid: n.sid, comm: n.comm, exitCode: n.zombie?.exitCode ?? 0, signal: n.zombie?.signal ?? null };
}

/**
 * The steps that rebuild the tree: each process forked by its parent; a
 * session leader's children that stay in the old session are forked before
 * its setsid(); group leaders make their group; then every process joins its
 * group. Throws KIND_UNSUPPORTED when the result would differ from `nodes`
 * (a session or group whose leader is gone and is not the root's inherited one).
 */
export function planTree(nodes: TreeNode[]): TreeStep[] {
  const root = nodes[0];
  const byPid = new Map(nodes.map((n) => [n.pid, n]));
  const kids = new Map<number, TreeNode[]>();
  for (const n of nodes.slice(1)) kids.set(n.ppid, [...(kids.get(n.ppid) ?? []), n]);
  // What the root inherited from outside the tree maps to OUTSIDE: its own
  // session and group, or (when it leads its own) the one foreign value its
  // processes show — a child left in the session the root later left.
  const pids = new Set(nodes.map((x) => x.pid));
  const foreign = (vals: number[]) => { const f = [...new Set(vals.filter((x) => !pids.has(x)))]; return f.length === 1 ? f[0] : undefined; };
  const outSid = root.sid === root.pid ? foreign(nodes.map((x) => x.sid)) : root.sid;
  const outPgid = root.pgid === root.pid ? foreign(nodes.filter((x) => x.sid === outSid).map((x) => x.pgid)) : root.pgid;
  const wantSid = (n: TreeNode) => (n.sid === outSid ? OUTSIDE : n.sid);
  const wantPgid = (n: TreeNode) => (n.pgid === outPgid ? OUTSIDE : n.pgid);
  const cur = new Map<number, { sid: number; pgid: number }>();
  const steps: TreeStep[] = [];
  const problems: string[] = [];

  const joinGroup = (n: TreeNode) => {
    const want = wantPgid(n);
    const now = cur.get(n.pid)!;
    if (now.pgid === want) return;
    const leader = byPid.get(want);
    const leaderNow = leader ? cur.get(leader.pid) : undefined;
    // A group whose leader has exited (a pipeline whose first command is done): some
    // member of the same session already in it, or else a stand-in leader made for the
    // moment with the group's number — a child of this process, in its session —
    // that exits and is reaped once this process has joined.
    const joined = nodes.some((x) => x !== n && cur.get(x.pid)?.pgid === want && cur.get(x.pid)?.sid === now.sid);
    if (want !== OUTSIDE && !leader && !joined) {
      steps.push({ op: 'standIn', parent: n.pid, pid: want });
      steps.push({ op: 'setpgid', pid: n.pid, pgid: want });
      steps.push({ op: 'reap', parent: n.pid, pid: want });
      now.pgid = want;
      return;
    }
    if (want === OUTSIDE ? now.sid !== OUTSIDE : !joined && (!leaderNow || leaderNow.pgid !== want || leaderNow.sid !== now.sid)) {
      problems.push(`process ${n.pid} is in process group ${n.pgid}, whose leader is not yet in its session`);
      return;
    }
    steps.push({ op: 'setpgid', pid: n.pid, pgid: want });
    now.pgid = want;
  };

  const visit = (n: TreeNode, inherited: { sid: number; pgid: number }) => {
    cur.set(n.pid, { ...inherited });
    const children = kids.get(n.pid) ?? [];
    let rest = children;
    const fork = (k: TreeNode) => {
      steps.push(k.filesOfParent ? { op: 'fork', parent: n.pid, pid: k.pid, shareFiles: true } : { op: 'fork', parent: n.pid, pid: k.pid });
      visit(k, cur.get(n.pid)!);
    };
    if (!n.zombie && n.sid === n.pid) {
      // Children still in the session this process left: made before it leaves.
      for (const k of children.filter((c) => c.sid !== n.pid)) fork(k);
      rest = children.filter((c) => c.sid === n.pid);
      steps.push({ op: 'setsid', pid: n.pid });
      cur.set(n.pid, { sid: n.pid, pgid: n.pid });
    } else if (n.pgid === n.pid) {
      steps.push({ op: 'setpgid', pid: n.pid, pgid: n.pid });
      cur.get(n.pid)!.pgid = n.pid;
    }
    if (n.zombie) {
      joinGroup(n);
      steps.push({ op: 'exit', pid: n.pid, exitCode: n.zombie.exitCode, signal: n.zombie.signal });
      return;
    }
    for (const k of rest) fork(k);
  };
  visit(root, { sid: OUTSIDE, pgid: OUTSIDE });
  for (const n of nodes) if (!n.zombie) joinGroup(n);
  for (const n of nodes) {
    const now = cur.get(n.pid);
    if (!now) problems.push(`process ${n.pid}: its parent ${n.ppid} is not in the tree`);
    else if (now.sid !== wantSid(n)) problems.push(`process ${n.pid} is in session ${n.sid}, whose leader is gone or outside the tree (it cannot be recreated)`);
  }
  if (problems.length) throw new CkptError('KIND_UNSUPPORTED', `the process tree cannot be recreated as it is:\n  ${problems.join('\n  ')}`, { problems });
  return steps;
}

const CLONE_ARGS_SIZE = 88;
const CLONE_FILES = 0x400;

/** Make `parent` fork a child with exactly `pid`; the child is traced by ckpt (inherited ptrace options), in a stop. */
export function forkWithPid(parent: Tracee, s: Scratch, pid: number, shareFiles = false): Tracee {
  s.reset();
  const tid = s.put(Buffer.from(new Int32Array([pid]).buffer));
  const args = Buffer.alloc(CLONE_ARGS_SIZE);
  if (shareFiles) args.writeBigUInt64LE(BigInt(CLONE_FILES), 0); // flags
  args.writeBigUInt64LE(BigInt(SIG.CHLD), 32); // exit_signal
  args.writeBigUInt64LE(BigInt(tid), 64); // set_tid
  args.writeBigUInt64LE(1n, 72); // set_tid_size
  const rc = parent.syscall(SYS.clone3, s.put(args), CLONE_ARGS_SIZE);
  if (rc === -17 /* EEXIST */) throw new CkptError('PID_TAKEN', `PID ${pid} was taken while the tree was being restored`, { pid });
  if (rc < 0) throw new CkptError('IO', `process ${parent.pid} could not create its child ${pid} (clone3: errno ${-rc})`, { pid });
  for (;;) {
    const st = waitFor(pid, 10_000);
    if (st.kind !== 'stopped') throw new CkptError('INTERNAL', `the new process ${pid} ended before it could be restored`);
    if (st.event === 128 /* PTRACE_EVENT_STOP */ || st.signal === SIG.STOP) break;
    ptrace.cont(pid, 0);
  }
  const child = Tracee.adopt(pid);
  child.syscallInsn = parent.syscallInsn;
  return child;
}

/**
 * End a freshly forked process the way the zombie ended, so that its parent
 * finds the same wait status. ckpt, its tracer, takes the exit report; the
 * zombie then waits for its real parent.
 */
export function becomeZombie(t: Tracee, s: Scratch, z: Pick<Zombie, 'comm' | 'exitCode' | 'signal'>): void {
  const pid = t.pid;
  const { exitCode, signal } = z;
  s.reset();
  t.call('prctl(PR_SET_NAME)', SYS.prctl, PR.SET_NAME, s.str(z.comm.slice(0, 15)), 0, 0, 0); // what ps shows of it
  if (signal !== null) {
    // No core file for a zombie that died of a core-dumping signal.
    s.reset();
    t.call('prlimit64(RLIMIT_CORE)', SYS.prlimit64, 0, 4, s.put(Buffer.alloc(16)), 0);
    ptrace.setSigmask(pid, 0n); // the fork has its parent's default actions, so the signal ends it
    syscallRaw(SYS.tgkill, pid, pid, signal); // from ckpt: run inside, SIGKILL would end the call itself
    try { ptrace.cont(pid, 0); } catch { /* SIGKILL: already dying */ }
    for (;;) {
      const w = waitFor(pid, 10_000);
      if (w.kind !== 'stopped') return;
      try { ptrace.cont(pid, w.event ? 0 : w.signal); } catch { /* dying */ }
    }
  }
  const r = Buffer.from(t.regs);
  setReg(r, 'rax', SYS.exit_group);
  setReg(r, 'orig_rax', -1);
  setReg(r, 'rip', t.syscallInsn);
  setReg(r, ARG_REGS[0], exitCode ?? 0);
  ptrace.setRegs(pid, r);
  ptrace.cont(pid, 0);
  for (;;) {
    const w = waitFor(pid, 10_000);
    if (w.kind !== 'stopped') return;
    ptrace.cont(pid, 0);
  }
}
