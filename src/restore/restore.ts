// Restore orchestration: validate everything, create every process of the
// tree by its real parent with its PID, reshape each with remote syscalls
// (memory, files, own state), resume them all together. Each kind restores
// its own state; this file and build-process.ts only sequence. A failure
// kills every process built and undoes what was created.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { phase } from '../timing.js';
import { CkptError } from '../errors.js';
import { ImageReader } from '../image/reader.js';
import { verifyInBackground } from '../image/verify.js';
import { processesOf, type Meta, type ProcessImage } from '../image/format.js';
import { Scratch } from '../tracee/scratch.js';
import type { Tracee } from '../tracee/tracee.js';
import { SYS, MAP, PROT, O, SIG, AT_FDCWD, ptrace, mem, kill, waitFor, tryWait, setChildSubreaper, close, __WALL } from '../sys/index.js';
import { parseMaps } from '../proc/maps.js';
import { parseStat } from '../proc/stat.js';
import { checkMappedFiles } from '../kinds/memory.js';
import { requireUnchanged } from '../kinds/file-identity.js';
import { planTree, forkWithPid, becomeZombie, OUTSIDE, type TreeNode } from '../kinds/process-tree.js';
import { createWithPid, pidTaken, INHERITED_BASE } from './stub.js';
import { ProcessBuild, checkFiles, TRAMPOLINE_SIZE, ALL_SIGNALS, type TreeContext } from './build-process.js';
import { parsePlugs } from './plugs.js';
import { fingerprintOf, differences } from '../kinds/fingerprint.js';
import { TIOC } from '../sys/pty.js';

export interface RestoreOptions {
  /**
   * Keep every thread traced (with `ckpt run`'s options) instead of letting
   * go: the caller supervises the restored program, so the checkpoint
   * signals and freeze() work for it again.
   */
  supervise?: boolean;
  /**
   * A terminal (pty slave path) for the program: the root becomes the leader
   * of a new session with this terminal as its controlling one, and the
   * inherited stdin/stdout/stderr are this terminal.
   */
  terminal?: string;
  /** `--fd [PID:]N=SPEC`: something else in fd N of a process (see plugs.ts). */
  plugs?: string[];
}

export interface RestoreResult {
  /** The root process. */
  pid: number;
  /** Every thread of the root (still traced when supervised). */
  tids: number[];
  /** Every live process of the tree with its threads, the root first. */
  processes: Array<{ pid: number; tids: number[] }>;
  zombies: number[];
  notices: string[];
  ms: number;
}

export function restore(imagePath: string, opts: RestoreOptions = {}): RestoreResult {
  const t0 = performance.now();
  const path = resolve(imagePath);
  setChildSubreaper();
  const image = ImageReader.open(path);
  const held: number[] = [];
  try {
    const meta = image.meta;
    const procs = processesOf(meta);
    for (const p of procs) for (const th of p.threads) requireFree(th.tid);
    for (const z of meta.zombies) requireFree(z.pid);
    const notices: string[] = [];
    for (const p of procs) preflight(p, meta, image, notices);
    const plugs = parsePlugs(opts.plugs ?? [], procs);
    const steps = planTree(treeNodes(meta));
    phase('open+preflight');
    const verification = verifyInBackground(image);
    phase('start verify');
    const tree: TreeContext = {
      image, imagePath: path, tramp: 0, high: highFd(procs), notices, onFailure: [], onSuccess: [], afterFiles: [],
      objects: new Map(), held, shmem: new Map(), plugs,
    };
    const created: number[] = [];
    let builds: ProcessBuild[] = [];
    try {
      const root = createWithPid(meta.process.pid).child;
      created.push(root.pid);
      phase('create process');
      tree.tramp = pickTrampoline(procs, root.pid);
      prepareRoot(root, tree, opts.terminal);
      builds = createTree(root, procs, meta, steps, tree, created, opts.terminal !== undefined);
      if (opts.terminal) foregroundGroup(root, meta, tree);
      phase('create tree');
      for (const b of builds) b.memory();
      phase('memory');
      for (const b of builds) b.files();
      for (const f of tree.afterFiles) f();
      phase('files');
      for (const b of builds) b.state();
      phase('attributes, signals, timers, threads');
      // Nothing runs before every byte of the image has checked out.
      verification.wait();
      // A program frozen by freeze() learns, from this file, that it was restored.
      if (meta.freeze) {
        mkdirSync(dirname(meta.freeze.marker), { recursive: true, mode: 0o700 });
        writeFileSync(meta.freeze.marker, 'restored\n');
      }
      phase('verification wait');
      for (const b of builds) b.finish();
      selfCheck(builds, meta, opts);
      phase('self-check');
      // ckpt's own copies of shared objects go before anything runs: a pipe
      // whose other end was outside must have no reader (or writer) left.
      closeHeld(held);
      for (const b of builds) b.resume(opts.supervise ?? false);
      phase('resume');
    } catch (e) {
      destroy(created);
      for (const f of tree.onFailure.reverse()) try { f(); } catch { /* best effort */ }
      if (e instanceof CkptError) throw e;
      // A syscall the new process refused: say which, and that nothing was left behind.
      throw new CkptError('IO', `restore failed: ${(e as Error).message}`, { pid: meta.process.pid, cause: e, hint: 'every half-built process was removed' });
    }
    for (const f of tree.onSuccess) try { f(); } catch { /* best effort */ }
    return {
      pid: meta.process.pid, tids: builds[0].tids, processes: builds.map((b) => ({ pid: b.pid, tids: b.tids })),
      zombies: meta.zombies.map((z) => z.pid), notices, ms: performance.now() - t0,
    };
  } finally {
    closeHeld(held);
    image.close();
  }
}

/**
 * Every restored process against the view the dump recorded, before anything
 * runs: a difference undoes the restore. Left out: what the restore changes
 * on purpose (stdio connected to ckpt restore's, fds plugged with --fd, the
 * root's parent, a group or session the root had from outside).
 */
function selfCheck(builds: ProcessBuild[], meta: Meta, opts: RestoreOptions): void {
  const root = meta.process;
  const outsideSid = root.sid !== root.pid ? String(root.sid) : undefined;
  const outsidePgid = root.pgid !== root.pid ? String(root.pgid) : undefined;
  const plugged = parsePlugs(opts.plugs ?? [], processesOf(meta));
  for (const b of builds) {
    const saved = b.img.fingerprint;
    if (!saved) continue; // a 1.x image
    const reconnected = reconnectedFds(b.img, meta, plugged);
    const isRoot = b.pid === root.pid;
    const skip = (k: string) => {
      if (k.startsWith('fd ')) return reconnected.has(Number(k.slice(3)));
      if (k === 'ppid') return isRoot;
      if (k === 'session') return saved.session === outsideSid || (isRoot && opts.terminal !== undefined);
      if (k === 'process group') return saved['process group'] === outsidePgid || (isRoot && opts.terminal !== undefined);
      return false;
    };
    const diff = differences(saved, fingerprintOf(b.pid), skip);
    if (diff.length) {
      throw new CkptError('NOT_EXACT', `process ${b.pid} would not come back as it was:\n  ${diff.join('\n  ')}`, {
        pid: b.pid, problems: diff, hint: 'nothing was resumed and the restored processes were removed; please report this',
      });
    }
  }
}

/** Fds connected to something else than they had: inherited stdio, plugs, and their dups and copies. */
function reconnectedFds(img: ProcessImage, meta: Meta, plugs: ReturnType<typeof parsePlugs>): Set<number> {
  const all = processesOf(meta);
  const other = (pid: number, fd: number): boolean => {
    if (plugs.some((p) => p.pid === pid && p.fd === fd)) return true;
    const rec = all.find((p) => p.process.pid === pid)?.files.find((f) => f.fd === fd);
    if (!rec) return false;
    if (rec.kind === 'inherit') return true;
    if (rec.kind === 'dup') return other(pid, (rec.state as { of: number }).of);
    if (rec.kind === 'shared') return other((rec.state as { pid: number }).pid, (rec.state as { fd: number }).fd);
    return false;
  };
  return new Set(img.files.filter((f) => other(img.process.pid, f.fd)).map((f) => f.fd));
}

function closeHeld(held: number[]): void {
  for (const fd of held.splice(0)) try { close(fd); } catch { /* already closed */ }
}

function requireFree(pid: number): void {
  waitForZombie(pid);
  if (existsSync(`/proc/${pid}`)) throw pidTaken(pid);
}

function treeNodes(meta: Meta): TreeNode[] {
  const live = processesOf(meta).map((p): TreeNode => ({
    pid: p.process.pid, ppid: p.process.ppid, pgid: p.process.pgid ?? p.process.pid, sid: p.process.sid ?? p.process.pid, filesOfParent: p.process.filesOfParent,
  }));
  // A 1.x image has no group or session: the root keeps what it gets.
  if (meta.process.pgid === undefined) { live[0].pgid = -2; live[0].sid = -2; }
  return [...live, ...meta.zombies.map((z): TreeNode => ({ pid: z.pid, ppid: z.ppid, pgid: z.pgid, sid: z.sid, zombie: { exitCode: z.exitCode, signal: z.signal } }))];
}

/**
 * The root, a clone of the helper: it stops getting rseq updates, gets the
 * trampoline, keeps ckpt's stdio at high..high+2 and nothing else (its
 * children inherit all of this), and, on a terminal, a session of its own
 * with that terminal as its controlling one.
 */
function prepareRoot(t: Tracee, tree: TreeContext, terminal: string | undefined): void {
  const pid = t.pid;
  ptrace.setSigmask(pid, ALL_SIGNALS);
  // The helper's rseq area is about to vanish: the kernel must stop writing to it.
  const rs = ptrace.getRseqConfig(pid);
  if (rs.address) t.call('rseq (unregister)', SYS.rseq, rs.address, rs.length, 1 /* RSEQ_FLAG_UNREGISTER */, rs.signature);
  const { tramp, high } = tree;
  const got = t.call('mmap (trampoline)', SYS.mmap, tramp, TRAMPOLINE_SIZE, PROT.READ | PROT.WRITE | PROT.EXEC, MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE, -1, 0);
  if (got !== tramp) throw new CkptError('INTERNAL', `trampoline landed at 0x${got.toString(16)}`);
  mem.write(pid, tramp, Buffer.from([0x0f, 0x05, 0xcc, 0xcc]));
  t.syscallInsn = tramp;
  const scratch = new Scratch(pid, tramp + 4096, TRAMPOLINE_SIZE - 4096);
  // Exactly at high+0..2 (dup3, not F_DUPFD): a stray fd of the helper must not shift them.
  for (let i = 0; i < 3; i++) t.call('dup3', SYS.dup3, INHERITED_BASE + i, high + i, O.CLOEXEC);
  if (terminal) {
    t.call('setsid', SYS.setsid);
    const tty = t.call(`open ${terminal}`, SYS.openat, AT_FDCWD, scratch.str(terminal), O.RDWR, 0);
    t.call('ioctl(TIOCSCTTY)', SYS.ioctl, tty, TIOC.SCTTY, 0);
    for (let i = 0; i < 3; i++) t.call('dup3', SYS.dup3, tty, high + i, O.CLOEXEC);
    t.call('close', SYS.close, tty);
  }
  t.call('close_range', SYS.close_range, 0, high - 1, 0);
  t.call('close_range', SYS.close_range, high + 3, 0xffffffff, 0);
}

/** Run the tree plan: forks by the real parents, sessions, groups, zombies. Returns the live processes in image order. */
function createTree(root: Tracee, procs: ProcessImage[], meta: Meta, steps: ReturnType<typeof planTree>, tree: TreeContext, created: number[], onTerminal: boolean): ProcessBuild[] {
  const tracees = new Map<number, Tracee>([[root.pid, root]]);
  const outsidePgid = parseStat(readFileSync(`/proc/${root.pid}/stat`, 'utf8')).pgrp;
  const scratchOf = (t: Tracee) => new Scratch(t.pid, tree.tramp + 4096, TRAMPOLINE_SIZE - 4096);
  const madeZombies = new Set<number>();
  for (const step of steps) {
    if (step.op === 'fork') {
      const parent = tracees.get(step.parent)!;
      const child = forkWithPid(parent, scratchOf(parent), step.pid, step.shareFiles);
      created.push(child.pid);
      tracees.set(child.pid, child);
    } else if (step.op === 'setsid') {
      if (step.pid === root.pid && onTerminal) continue; // it has a session of its own already
      tracees.get(step.pid)!.call('setsid', SYS.setsid);
    } else if (step.op === 'setpgid') {
      const pgid = step.pgid === OUTSIDE ? outsidePgid : step.pgid;
      if (step.pid === root.pid && onTerminal) continue;
      tracees.get(step.pid)!.call(`setpgid(${pgid})`, SYS.setpgid, 0, pgid);
    } else if (step.op === 'standIn') {
      const parent = tracees.get(step.parent)!;
      const leader = forkWithPid(parent, scratchOf(parent), step.pid);
      created.push(leader.pid);
      leader.call('setpgid (stand-in leader)', SYS.setpgid, 0, 0);
      tracees.set(leader.pid, leader);
    } else if (step.op === 'reap') {
      const leader = tracees.get(step.pid)!;
      becomeZombie(leader, scratchOf(leader), { comm: 'ckpt-stand-in', exitCode: 0, signal: null });
      tracees.delete(step.pid);
      const parent = tracees.get(step.parent)!;
      parent.call('wait4 (stand-in leader)', SYS.wait4, step.pid, 0, 0, 0);
      madeZombies.add(step.parent);
    } else {
      const z = tracees.get(step.pid)!;
      const rec = meta.zombies.find((x) => x.pid === step.pid)!;
      becomeZombie(z, scratchOf(z), rec);
      tracees.delete(step.pid);
      madeZombies.add(rec.ppid);
    }
  }
  return procs.map((p) => {
    const b = new ProcessBuild(tracees.get(p.process.pid)!, p, tree);
    b.madeZombies = madeZombies.has(p.process.pid);
    b.isRoot = p.process.pid === root.pid;
    return b;
  });
}

/**
 * On a terminal: the job that was in the foreground (a shell's child in a
 * group of its own, say) is in the foreground again, set by the root, which
 * leads the terminal's session.
 */
function foregroundGroup(root: Tracee, meta: Meta, tree: TreeContext): void {
  const fg = meta.process.tpgid ?? -1;
  if (fg <= 0 || fg === root.pid || !processesOf(meta).some((p) => p.process.pgid === fg)) return;
  const s = new Scratch(root.pid, tree.tramp + 4096, TRAMPOLINE_SIZE - 4096);
  root.call('ioctl(TIOCSPGRP)', SYS.ioctl, tree.high, TIOC.SPGRP, s.put(Buffer.from(new Int32Array([fg]).buffer)));
}

/** Kill every process made so far and reap what is ckpt's to reap: nothing is left behind. */
function destroy(pids: number[]): void {
  for (const pid of pids) try { kill(pid, SIG.KILL); } catch { /* gone */ }
  for (const pid of [...pids].reverse()) {
    try { while (waitFor(pid, 10_000).kind === 'stopped') { /* until gone */ } } catch { /* not ours to wait for, or reaped */ }
  }
  // Children of killed parents come to ckpt (a subreaper) as zombies: reap them too.
  const deadline = Date.now() + 2000;
  while (pids.some((p) => existsSync(`/proc/${p}`)) && Date.now() < deadline) {
    try { if (!tryWait(-1, __WALL)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); } catch { break; }
  }
}

/**
 * A process killed just before (ckpt dump --kill) stays a zombie until its
 * parent reaps it, holding the PID: give the parent a few seconds.
 */
function waitForZombie(pid: number): void {
  const deadline = Date.now() + 5000;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    let state = '';
    try { state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0); } catch { return; }
    if (state !== 'Z' && state !== 'X') return;
    Atomics.wait(sleeper, 0, 0, 10);
  }
}

/** Everything that can be checked before any process exists. */
function preflight(p: ProcessImage, meta: Meta, image: ImageReader, notices: string[]): void {
  if (meta.host.arch !== process.arch) throw new CkptError('IMAGE_VERSION', `image is for ${meta.host.arch}, this machine is ${process.arch}`);
  if (p.process.exe) requireUnchanged(p.process.exe, 'program');
  if (!existsSync(p.process.cwd)) throw new CkptError('FILE_CHANGED', `the working directory ${p.process.cwd} is missing`, { path: p.process.cwd });
  checkMappedFiles(p.vmas);
  checkFiles(p, { notices, image });
}

/** The lowest fd number above every fd of every process: ckpt's stdio copies sit there meanwhile. */
function highFd(procs: ProcessImage[]): number {
  return Math.max(INHERITED_BASE + 3, ...procs.flatMap((p) => p.files.map((f) => f.fd + 1)));
}

/** A free range for the trampoline, outside every process's mappings and the new root's own. */
function pickTrampoline(procs: ProcessImage[], pid: number): number {
  const used = [
    ...procs.flatMap((p) => p.vmas.map((v) => [v.start, v.end])),
    ...parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).map((m) => [m.start, m.end]),
  ];
  for (const cand of [0x100000000000, 0x200000000000, 0x300000000000, 0x10000000000, 0x40000000]) {
    const end = cand + TRAMPOLINE_SIZE;
    if (!used.some(([s, e]) => s < end + (1 << 20) && e > cand - (1 << 20))) return cand;
  }
  throw new CkptError('INTERNAL', 'no free address range for the restore trampoline');
}
