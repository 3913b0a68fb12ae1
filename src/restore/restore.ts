// Restore orchestration: validate everything, create the process with its
// PID, reshape it with remote syscalls, resume it. Each kind restores its
// own state; this file only sequences. A failure kills what was built.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import * as v from 'valibot';
import { dirname } from 'node:path';
import { phase } from '../timing.js';
import { resolve } from 'node:path';
import { CkptError } from '../errors.js';
import { ImageReader } from '../image/reader.js';
import { verifyInBackground } from '../image/verify.js';
import type { Meta } from '../image/format.js';
import { Scratch } from '../tracee/scratch.js';
import { Tracee } from '../tracee/tracee.js';
import type { Remote } from '../tracee/remote.js';
import { PTRACE_O, SYS, MAP, PROT, O, F, SIG, ARCH, AT_FDCWD, TASK_SIZE, ptrace, mem, kill, waitFor, setChildSubreaper, FD_CLOEXEC } from '../sys/index.js';
import { parseMaps } from '../proc/maps.js';
import { checkMappedFiles, restoreMemory, vdsoBase } from '../kinds/memory.js';
import { requireUnchanged } from '../kinds/file-identity.js';
import { kindByTag } from '../kinds/index.js';
import type { RestoreContext } from '../kinds/types.js';
import { restoreMm, restoreAttributes, restoreCredentials } from '../kinds/process.js';
import { restoreActions, queueSignals } from '../kinds/signals.js';
import { restoreItimers, restorePosixTimers } from '../kinds/timers.js';
import { restoreThreadState, finalRegs, primeSleep, createThread } from '../kinds/thread.js';
import { createWithPid, pidTaken, INHERITED_BASE } from './stub.js';
import { TIOC } from '../sys/pty.js';

export interface RestoreOptions {
  /**
   * Keep every thread traced (with `ckpt run`'s options) instead of letting
   * go: the caller supervises the restored program, so the checkpoint
   * signals and freeze() work for it again.
   */
  supervise?: boolean;
  /**
   * A terminal (pty slave path) for the program: it becomes the leader of a
   * new session with this terminal as its controlling one, and its
   * inherited stdin/stdout/stderr are this terminal.
   */
  terminal?: string;
}

export interface RestoreResult {
  pid: number;
  /** Every thread of the restored process (still traced when supervised). */
  tids: number[];
  notices: string[];
  ms: number;
}

const TRAMPOLINE_SIZE = 1 << 20; // one code page + scratch for syscall arguments
const SUPERVISE_OPTIONS = PTRACE_O.TRACEFORK | PTRACE_O.TRACEVFORK | PTRACE_O.TRACECLONE | PTRACE_O.TRACEEXEC;
const ALL_SIGNALS = 0xffffffffffffffffn;

export function restore(imagePath: string, opts: RestoreOptions = {}): RestoreResult {
  const t0 = performance.now();
  const path = resolve(imagePath);
  setChildSubreaper();
  const image = ImageReader.open(path);
  try {
    const meta = image.meta;
    const pid = meta.process.pid;
    waitForZombie(pid);
    if (existsSync(`/proc/${pid}`)) throw pidTaken(pid);
    for (const th of meta.threads) if (th.tid !== pid && existsSync(`/proc/${th.tid}`)) throw pidTaken(th.tid);
    const notices: string[] = [];
    preflight(meta, image, notices);
    phase('open+preflight');
    const verification = verifyInBackground(image);
    phase('start verify');
    const onFailure: Array<() => void> = [];
    const onSuccess: Array<() => void> = [];
    let child: Tracee | undefined;
    try {
      child = createWithPid(pid).child;
      phase('create process');
      build(child, meta, image, path, notices, onFailure, onSuccess, () => verification.wait(), opts);
    } catch (e) {
      if (child) {
        try { kill(child.pid, SIG.KILL); } catch { /* gone */ }
        try { while (waitFor(child.pid, 10_000).kind === 'stopped') { /* until gone */ } } catch { /* reaped */ }
      }
      for (const f of onFailure.reverse()) try { f(); } catch { /* best effort */ }
      if (e instanceof CkptError) throw e;
      // A syscall the new process refused: say which, and that nothing was left behind.
      throw new CkptError('IO', `restore failed: ${(e as Error).message}`, { pid, cause: e, hint: 'the half-built process was removed' });
    }
    for (const f of onSuccess) try { f(); } catch { /* best effort */ }
    return { pid, tids: meta.threads.map((th) => th.tid), notices, ms: performance.now() - t0 };
  } finally {
    image.close();
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
function preflight(meta: Meta, image: ImageReader, notices: string[]): void {
  if (meta.host.arch !== process.arch) throw new CkptError('IMAGE_VERSION', `image is for ${meta.host.arch}, this machine is ${process.arch}`);
  if (meta.process.exe) requireUnchanged(meta.process.exe, 'program');
  if (!existsSync(meta.process.cwd)) throw new CkptError('FILE_CHANGED', `the working directory ${meta.process.cwd} is missing`, { path: meta.process.cwd });
  checkMappedFiles(meta.vmas);
  for (const rec of meta.files) {
    const kind = kindByTag(rec.kind);
    if (!kind) throw new CkptError('IMAGE_VERSION', `fd ${rec.fd} is of kind '${rec.kind}', unknown to this ckpt`, { fd: rec.fd, kind: rec.kind });
    const parsed = v.safeParse(kind.schema, rec.state);
    if (!parsed.success) throw new CkptError('IMAGE_CORRUPT', `fd ${rec.fd} (${rec.kind}): invalid state in the image`, { fd: rec.fd });
    rec.state = parsed.output;
    kind.check?.(rec.state, rec.fd, { notices, image });
  }
}

/**
 * Fds in number order, except kinds that refer to other fds (epoll), and
 * dups of those, which come after everything else.
 */
function restoreOrder(files: Meta['files']): Meta['files'] {
  const late = new Set<number>();
  const sorted = [...files].sort((a, b) => a.fd - b.fd);
  for (const f of sorted) {
    if (kindByTag(f.kind)?.late || (f.kind === 'dup' && late.has((f.state as { of: number }).of))) late.add(f.fd);
  }
  return [...sorted.filter((f) => !late.has(f.fd)), ...sorted.filter((f) => late.has(f.fd))];
}

/** A free range for the trampoline, outside the image's mappings and the new process's own. */
function pickTrampoline(meta: Meta, pid: number): number {
  const used = [
    ...meta.vmas.map((v) => [v.start, v.end]),
    ...parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).map((m) => [m.start, m.end]),
  ];
  for (const cand of [0x100000000000, 0x200000000000, 0x300000000000, 0x10000000000, 0x40000000]) {
    const end = cand + TRAMPOLINE_SIZE;
    if (!used.some(([s, e]) => s < end + (1 << 20) && e > cand - (1 << 20))) return cand;
  }
  throw new CkptError('INTERNAL', 'no free address range for the restore trampoline');
}


function build(t: Tracee, meta: Meta, image: ImageReader, imagePath: string, notices: string[], onFailure: Array<() => void>, onSuccess: Array<() => void>, verified: () => void, opts: RestoreOptions): void {
  const supervise = opts.supervise ?? false;
  const pid = t.pid;
  const th = meta.threads.find((x) => x.tid === pid);
  if (!th) throw new CkptError('IMAGE_CORRUPT', `the image has no main thread (TID ${pid})`);
  ptrace.setSigmask(pid, ALL_SIGNALS);
  // The helper's rseq area is about to vanish: the kernel must stop writing to it.
  const rs = ptrace.getRseqConfig(pid);
  if (rs.address) t.call('rseq (unregister)', SYS.rseq, rs.address, rs.length, 1 /* RSEQ_FLAG_UNREGISTER */, rs.signature);

  // 1. A trampoline: one `syscall` instruction and scratch memory, at an address nothing else uses.
  const tramp = pickTrampoline(meta, pid);
  const got = t.call('mmap (trampoline)', SYS.mmap, tramp, TRAMPOLINE_SIZE, PROT.READ | PROT.WRITE | PROT.EXEC, MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED_NOREPLACE, -1, 0);
  if (got !== tramp) throw new CkptError('INTERNAL', `trampoline landed at 0x${got.toString(16)}`);
  mem.write(pid, tramp, Buffer.from([0x0f, 0x05, 0xcc, 0xcc]));
  t.syscallInsn = tramp;
  const scratch = new Scratch(pid, tramp + 4096, TRAMPOLINE_SIZE - 4096);
  const r: Remote = { t, s: scratch };

  // 2. File descriptors: keep ckpt's stdio (for inherited stdin/out/err) above every fd the image uses.
  const high = Math.max(INHERITED_BASE + 3, ...meta.files.map((f) => f.fd + 1));
  // Exactly at high+0..2 (dup3, not F_DUPFD): a stray fd of the helper must not shift them.
  for (let i = 0; i < 3; i++) t.call('dup3', SYS.dup3, INHERITED_BASE + i, high + i, O.CLOEXEC);
  if (opts.terminal) {
    // A session of its own, with the terminal ckpt relays as its controlling terminal.
    t.call('setsid', SYS.setsid);
    const tty = t.call(`open ${opts.terminal}`, SYS.openat, AT_FDCWD, scratch.str(opts.terminal), O.RDWR, 0);
    t.call('ioctl(TIOCSCTTY)', SYS.ioctl, tty, TIOC.SCTTY, 0);
    for (let i = 0; i < 3; i++) t.call('dup3', SYS.dup3, tty, high + i, O.CLOEXEC);
    t.call('close', SYS.close, tty);
    scratch.reset();
  }
  t.call('close_range', SYS.close_range, 0, high - 1, 0);
  t.call('close_range', SYS.close_range, high + 3, 0xffffffff, 0);

  // 3. Memory: empty the address space but the trampoline, then map everything back.
  const imgFd = t.call('open (image)', SYS.openat, AT_FDCWD, scratch.str(imagePath), O.RDONLY | O.CLOEXEC, 0);
  t.call('munmap', SYS.munmap, 0, tramp);
  t.call('munmap', SYS.munmap, tramp + TRAMPOLINE_SIZE, TASK_SIZE - tramp - TRAMPOLINE_SIZE);
  scratch.reset();
  restoreMm(r, meta.process);
  const vd = vdsoBase(meta.vmas);
  if (vd) {
    t.call('arch_prctl(ARCH_MAP_VDSO_64)', SYS.arch_prctl, ARCH.MAP_VDSO_64, vd.base);
    const now = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).find((m) => m.path === '[vdso]');
    if (!now || now.start !== vd.vdso) {
      throw new CkptError('IMAGE_VERSION', 'the vDSO of this kernel does not fit the image (was it taken on another kernel?)');
    }
  }
  phase('trampoline+unmap+mm+vdso');
  restoreMemory(t, scratch, meta.vmas, imgFd);
  phase('memory');
  t.call('close', SYS.close, imgFd);

  // 4. Files, at their numbers.
  const parkBase = high + 3;
  const ctx: RestoreContext = {
    tracee: t, scratch, image, notices, onFailure, onSuccess, inheritedFd: (fd) => high + fd, shared: new Map(),
    park(fd) {
      const moved = t.call('fcntl(F_DUPFD)', SYS.fcntl, fd, F.DUPFD_CLOEXEC, parkBase);
      t.call('close', SYS.close, fd);
      return moved;
    },
  };
  for (const rec of restoreOrder(meta.files)) {
    scratch.reset();
    const kind = kindByTag(rec.kind)!;
    let fd: number;
    try {
      fd = kind.restore(rec.state, ctx, rec.fd);
    } catch (e) {
      if (e instanceof CkptError) throw e;
      throw new CkptError('IO', `cannot restore fd ${rec.fd} (${kind.describe(rec.state)}): ${(e as Error).message}`, { fd: rec.fd, kind: rec.kind, cause: e });
    }
    if (fd !== rec.fd) {
      t.call('dup3', SYS.dup3, fd, rec.fd, rec.cloexec ? O.CLOEXEC : 0);
      t.call('close', SYS.close, fd);
    } else {
      t.call('fcntl(F_SETFD)', SYS.fcntl, fd, F.SETFD, rec.cloexec ? FD_CLOEXEC : 0);
    }
  }
  t.call('close_range', SYS.close_range, high, 0xffffffff, 0); // ckpt's stdio copies, unclaimed pipe ends

  phase('files');
  // 5. Process attributes, signal actions, timers.
  scratch.reset();
  notices.push(...restoreAttributes(r, meta.process));
  scratch.reset();
  restoreActions(r, meta.signals.actions);
  scratch.reset();
  restoreItimers(r, meta.timers.itimers);
  scratch.reset();
  // 6. The other threads, each with its TID, then every thread's own state.
  const threads: Array<{ t: Tracee; th: Meta['threads'][number] }> = [{ t, th }];
  for (const other of meta.threads.filter((x) => x.tid !== pid)) {
    scratch.reset();
    createThread(r, other.tid);
    const st = waitFor(other.tid, 10_000);
    if (st.kind !== 'stopped') throw new CkptError('INTERNAL', `thread ${other.tid} ended before it could be restored`);
    const tt = Tracee.adopt(other.tid);
    tt.syscallInsn = tramp;
    ptrace.setSigmask(other.tid, ALL_SIGNALS);
    threads.push({ t: tt, th: other });
  }
  scratch.reset();
  restorePosixTimers(r, meta.timers.posix, pid); // a timer may signal a given thread: after they exist
  for (const x of threads) {
    const rx: Remote = { t: x.t, s: scratch };
    scratch.reset();
    restoreThreadState(rx, x.th);
    scratch.reset();
    queueSignals(rx, pid, x.th.tid, x.th.pending.map((b) => Buffer.from(b, 'base64')));
  }
  scratch.reset();
  queueSignals(r, pid, undefined, meta.signals.sharedPending.map((b) => Buffer.from(b, 'base64')));
  for (const x of threads) {
    scratch.reset();
    restoreCredentials({ t: x.t, s: scratch }, meta.process);
  }
  const slept = new Set<number>();
  for (const x of threads) {
    scratch.reset();
    if (primeSleep({ t: x.t, s: scratch }, x.th) === 'slept') slept.add(x.t.pid);
  }

  phase('attributes, signals, timers, threads');
  // Nothing runs before every byte of the image has checked out.
  verified();
  // A program frozen by freeze() learns, from this file, that it was restored.
  if (meta.freeze) {
    mkdirSync(dirname(meta.freeze.marker), { recursive: true, mode: 0o700 });
    writeFileSync(meta.freeze.marker, 'restored\n');
  }

  phase('verification wait');
  // 7. Remove the trampoline (the step stops right after the instruction),
  // then the saved registers and masks, and let every thread run.
  const left = t.syscall(SYS.munmap, tramp, TRAMPOLINE_SIZE);
  if (left !== 0) throw new CkptError('INTERNAL', `removing the trampoline failed (${left})`);
  for (const x of threads) {
    ptrace.setRegs(x.t.pid, finalRegs(x.th, slept.has(x.t.pid)));
    ptrace.setSigmask(x.t.pid, BigInt('0x' + x.th.sigmask));
  }
  for (const x of threads) {
    if (supervise) {
      ptrace.setOptions(x.t.pid, SUPERVISE_OPTIONS); // and no EXITKILL: the program outlives its supervisor
      ptrace.cont(x.t.pid, 0);
    } else {
      x.t.detach();
    }
  }
  phase('resume');
}
