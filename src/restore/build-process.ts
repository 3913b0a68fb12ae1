// Reshaping one created process into the saved one, in the phases the tree
// restore runs over every process in turn: memory, files, then its own
// state (attributes, signals, timers, threads, credentials), then the final
// registers and the resume. Each kind restores its own part; this file only
// sequences them for one process.
import { readFileSync, readlinkSync } from 'node:fs';
import * as v from 'valibot';
import { CkptError } from '../errors.js';
import type { ImageReader } from '../image/reader.js';
import type { ProcessImage } from '../image/format.js';
import { Scratch } from '../tracee/scratch.js';
import { Tracee } from '../tracee/tracee.js';
import type { Remote } from '../tracee/remote.js';
import { PTRACE_O, SYS, O, F, SIG, ARCH, AT_FDCWD, TASK_SIZE, ptrace, waitFor, getpid, FD_CLOEXEC } from '../sys/index.js';
import { grabFd } from '../sys/socket.js';
import { parseMaps } from '../proc/maps.js';
import { restoreMemory, vdsoBase, type ShmemMade } from '../kinds/memory.js';
import { kindByTag } from '../kinds/index.js';
import type { RestoreContext } from '../kinds/types.js';
import { restoreMm, restoreAttributes, restoreCredentials } from '../kinds/process.js';
import { restoreActions, queueSignals } from '../kinds/signals.js';
import { restoreItimers, restorePosixTimers } from '../kinds/timers.js';
import { restoreThreadState, finalRegs, primeSleep, createThread } from '../kinds/thread.js';
import { plugInto, type Plug } from './plugs.js';
import { restoreLocks } from '../kinds/file-locks.js';
import { restoreOwner } from '../kinds/fd-owner.js';

export const TRAMPOLINE_SIZE = 1 << 20; // one code page + scratch for syscall arguments
const SUPERVISE_OPTIONS = PTRACE_O.TRACEFORK | PTRACE_O.TRACEVFORK | PTRACE_O.TRACECLONE | PTRACE_O.TRACEEXEC;
export const ALL_SIGNALS = 0xffffffffffffffffn;
const SIGCHLD_SET = 1n << BigInt(SIG.CHLD - 1);

/** What every process of one restore shares. */
export interface TreeContext {
  image: ImageReader;
  imagePath: string;
  tramp: number;
  /** ckpt's stdin/stdout/stderr sit at high, high+1, high+2 in every process until its files are done. */
  high: number;
  notices: string[];
  onFailure: Array<() => void>;
  onSuccess: Array<() => void>;
  afterFiles: Array<() => void>;
  /** Objects several processes hold, as ckpt's own fds (closed at the end). */
  objects: Map<string, number[]>;
  /** ckpt's own fds to close at the end. */
  held: number[];
  shmem: ShmemMade;
  plugs: Plug[];
}

export class ProcessBuild {
  readonly scratch: Scratch;
  readonly threads: Array<{ t: Tracee; th: ProcessImage['threads'][number] }> = [];
  private readonly slept = new Set<number>();
  /** A child was made a zombie here: its SIGCHLD is not the program's. */
  madeZombies = false;
  /** The root of the tree (its parent is ckpt restore, not its own). */
  isRoot = false;

  constructor(readonly t: Tracee, readonly img: ProcessImage, private readonly tree: TreeContext) {
    this.scratch = new Scratch(t.pid, tree.tramp + 4096, TRAMPOLINE_SIZE - 4096);
    const main = img.threads.find((x) => x.tid === t.pid);
    if (!main) throw new CkptError('IMAGE_CORRUPT', `the image has no main thread for process ${t.pid}`);
    this.threads.push({ t, th: main });
  }

  get pid(): number {
    return this.t.pid;
  }

  private get r(): Remote {
    return { t: this.t, s: this.scratch };
  }

  /** Empty the address space but the trampoline, then map everything back. */
  memory(): void {
    const { t, scratch } = this;
    const { tramp } = this.tree;
    scratch.reset();
    const imgFd = t.call('open (image)', SYS.openat, AT_FDCWD, scratch.str(this.tree.imagePath), O.RDONLY | O.CLOEXEC, 0);
    t.call('munmap', SYS.munmap, 0, tramp);
    t.call('munmap', SYS.munmap, tramp + TRAMPOLINE_SIZE, TASK_SIZE - tramp - TRAMPOLINE_SIZE);
    scratch.reset();
    restoreMm(this.r, this.img.process);
    const vd = vdsoBase(this.img.vmas);
    if (vd) {
      t.call('arch_prctl(ARCH_MAP_VDSO_64)', SYS.arch_prctl, ARCH.MAP_VDSO_64, vd.base);
      const now = parseMaps(readFileSync(`/proc/${t.pid}/maps`, 'utf8')).find((m) => m.path === '[vdso]');
      if (!now || now.start !== vd.vdso) {
        throw new CkptError('IMAGE_VERSION', 'the vDSO of this kernel does not fit the image (was it taken on another kernel?)');
      }
    }
    restoreMemory(t, scratch, this.img.vmas, imgFd, this.tree.shmem);
    t.call('close', SYS.close, imgFd);
  }

  /** File descriptors at their numbers; then ckpt's stdio copies and leftovers go. */
  files(): void {
    if (this.img.process.filesOfParent) return; // one fd table with its parent, which restores it
    const { t, scratch } = this;
    const tree = this.tree;
    const parkBase = tree.high + 3;
    const grab = (pid: number, fd: number) => {
      const pidfd = t.call('pidfd_open', SYS.pidfd_open, pid, 0);
      try {
        return t.call(`pidfd_getfd (fd ${fd} of ${pid})`, SYS.pidfd_getfd, pidfd, fd, 0);
      } finally {
        t.syscall(SYS.close, pidfd);
      }
    };
    const ctx: RestoreContext = {
      tracee: t, scratch, image: tree.image, notices: tree.notices, onFailure: tree.onFailure, onSuccess: tree.onSuccess, afterFiles: tree.afterFiles,
      inheritedFd: (fd) => tree.high + fd, shared: new Map(), objects: tree.objects,
      park(fd) {
        const moved = t.call('fcntl(F_DUPFD)', SYS.fcntl, fd, F.DUPFD_CLOEXEC, parkBase);
        t.call('close', SYS.close, fd);
        return moved;
      },
      take(fd) {
        const mine = grabFd(t.pid, fd);
        tree.held.push(mine);
        return mine;
      },
      give: (mine) => grab(getpid(), mine),
      grab,
    };
    for (const rec of restoreOrder(this.img.files)) {
      scratch.reset();
      const kind = kindByTag(rec.kind)!;
      const plug = tree.plugs.find((p) => p.pid === t.pid && p.fd === rec.fd);
      let fd: number;
      try {
        fd = plug ? plugInto(ctx, plug, rec) : kind.restore(rec.state, ctx, rec.fd);
      } catch (e) {
        if (e instanceof CkptError) throw e;
        throw new CkptError('IO', `cannot restore fd ${rec.fd} of process ${t.pid} (${kind.describe(rec.state)}): ${(e as Error).message}`, { fd: rec.fd, kind: rec.kind, cause: e });
      }
      if (fd !== rec.fd) {
        t.call('dup3', SYS.dup3, fd, rec.fd, rec.cloexec ? O.CLOEXEC : 0);
        t.call('close', SYS.close, fd); // (closing another fd of the file drops POSIX locks: they are taken after)
      } else {
        t.call('fcntl(F_SETFD)', SYS.fcntl, fd, F.SETFD, rec.cloexec ? FD_CLOEXEC : 0);
      }
    }
    // Signal-driven I/O: owner and signal, then O_ASYNC.
    for (const rec of this.img.files) {
      if (!rec.owner || tree.plugs.some((p) => p.pid === t.pid && p.fd === rec.fd)) continue;
      scratch.reset();
      restoreOwner({ t, s: scratch }, rec.fd, rec.owner);
    }
    // Locks last: closing any fd of a file drops the process's POSIX locks on it.
    for (const rec of this.img.files) {
      if (!rec.locks.length || tree.plugs.some((p) => p.pid === t.pid && p.fd === rec.fd)) continue;
      scratch.reset();
      restoreLocks(ctx, rec.fd, rec.locks, readlinkSync(`/proc/${t.pid}/fd/${rec.fd}`));
    }
    t.call('close_range', SYS.close_range, tree.high, 0xffffffff, 0); // ckpt's stdio copies, parked leftovers
  }

  /** Attributes, signal actions, timers, the other threads, every thread's state, credentials. */
  state(): void {
    const { t, scratch, img } = this;
    const pid = t.pid;
    const r = this.r;
    scratch.reset();
    this.tree.notices.push(...restoreAttributes(r, img.process, this.isRoot));
    scratch.reset();
    restoreActions(r, img.signals.actions);
    scratch.reset();
    restoreItimers(r, img.timers.itimers);
    for (const other of img.threads.filter((x) => x.tid !== pid)) {
      scratch.reset();
      createThread(r, other.tid);
      const st = waitFor(other.tid, 10_000);
      if (st.kind !== 'stopped') throw new CkptError('INTERNAL', `thread ${other.tid} ended before it could be restored`);
      const tt = Tracee.adopt(other.tid);
      tt.syscallInsn = this.tree.tramp;
      ptrace.setSigmask(other.tid, ALL_SIGNALS);
      this.threads.push({ t: tt, th: other });
    }
    scratch.reset();
    restorePosixTimers(r, img.timers.posix, pid); // a timer may signal a given thread: after they exist
    if (this.madeZombies) {
      // The zombies ckpt made sent SIGCHLD; the program's own pending signals come from the image.
      scratch.reset();
      const set = scratch.put(Buffer.from(new BigUint64Array([SIGCHLD_SET]).buffer));
      t.syscall(SYS.rt_sigtimedwait, set, 0, scratch.put(Buffer.alloc(16)), 8);
    }
    for (const x of this.threads) {
      scratch.reset();
      restoreThreadState({ t: x.t, s: scratch }, x.th);
      scratch.reset();
      queueSignals({ t: x.t, s: scratch }, pid, x.th.tid, x.th.pending.map((b) => Buffer.from(b, 'base64')));
    }
    scratch.reset();
    queueSignals(r, pid, undefined, img.signals.sharedPending.map((b) => Buffer.from(b, 'base64')));
    for (const x of this.threads) {
      scratch.reset();
      restoreCredentials({ t: x.t, s: scratch }, img.process, this.isRoot);
    }
    for (const x of this.threads) {
      scratch.reset();
      if (primeSleep({ t: x.t, s: scratch }, x.th) === 'slept') this.slept.add(x.t.pid);
    }
  }

  /** Remove the trampoline (the step stops right after the instruction), then the saved registers and masks. */
  finish(): void {
    const left = this.t.syscall(SYS.munmap, this.tree.tramp, TRAMPOLINE_SIZE);
    if (left !== 0) throw new CkptError('INTERNAL', `removing the trampoline of ${this.pid} failed (${left})`);
    for (const x of this.threads) {
      ptrace.setRegs(x.t.pid, finalRegs(x.th, this.slept.has(x.t.pid)));
      ptrace.setSigmask(x.t.pid, BigInt('0x' + x.th.sigmask));
    }
  }

  /** Let every thread go (or keep it supervised); a process that was stopped stops again. */
  resume(supervise: boolean): void {
    const stop = this.img.process.stopped;
    for (const x of this.threads) {
      const sig = stop && x.t.pid === this.pid ? SIG.STOP : 0;
      if (supervise) {
        ptrace.setOptions(x.t.pid, SUPERVISE_OPTIONS); // and no EXITKILL: the program outlives its supervisor
        ptrace.cont(x.t.pid, sig);
      } else {
        x.t.detach(sig);
      }
    }
  }

  get tids(): number[] {
    return this.threads.map((x) => x.t.pid);
  }
}

/**
 * Fds in number order, except kinds that refer to other fds (epoll), and
 * dups of those, which come after everything else.
 */
function restoreOrder(files: ProcessImage['files']): ProcessImage['files'] {
  const late = new Set<number>();
  const sorted = [...files].sort((a, b) => a.fd - b.fd);
  for (const f of sorted) {
    if (kindByTag(f.kind)?.late || (f.kind === 'dup' && late.has((f.state as { of: number }).of))) late.add(f.fd);
  }
  return [...sorted.filter((f) => !late.has(f.fd)), ...sorted.filter((f) => late.has(f.fd))];
}

/** Validate every fd record of a process against its kind's schema (in place) and let the kind check it. */
export function checkFiles(img: ProcessImage, ctx: Pick<RestoreContext, 'notices' | 'image'>): void {
  for (const rec of img.files) {
    const kind = kindByTag(rec.kind);
    if (!kind) throw new CkptError('IMAGE_VERSION', `fd ${rec.fd} of process ${img.process.pid} is of kind '${rec.kind}', unknown to this ckpt`, { fd: rec.fd, kind: rec.kind });
    const parsed = v.safeParse(kind.schema, rec.state);
    if (!parsed.success) throw new CkptError('IMAGE_CORRUPT', `fd ${rec.fd} of process ${img.process.pid} (${rec.kind}): invalid state in the image`, { fd: rec.fd });
    rec.state = parsed.output;
    kind.check?.(rec.state, rec.fd, ctx);
  }
}
