// One frozen process's own state, read from /proc and, for what only the
// process can tell (brk, rlimits, signal actions, timers, altstack), by
// syscalls run inside it through a scratch page that is gone again when
// this returns — also when it fails.
import { readFileSync } from 'node:fs';
import { CkptError } from '../errors.js';
import type { FrozenProcess } from '../tracee/frozen-process.js';
import { Scratch } from '../tracee/scratch.js';
import type { Remote } from '../tracee/remote.js';
import { SYS, MAP, PROT, mem, syscallRaw } from '../sys/index.js';
import { parseMaps } from '../proc/maps.js';
import { parseStat } from '../proc/stat.js';
import type { FdOwner, Meta, ProcessState } from '../image/format.js';
import { dumpOwners } from '../kinds/fd-owner.js';
import { dumpThread } from '../kinds/thread.js';
import { dumpActions, dumpSharedPending, queueSignals } from '../kinds/signals.js';
import { dumpItimers, dumpPosixTimers } from '../kinds/timers.js';
import { dumpProcess } from '../kinds/process.js';
import { phase } from '../timing.js';

const SCRATCH_SIZE = 64 * 1024;
const KCMP_FILES = 2;

export interface CollectedProcess {
  pid: number;
  process: ProcessState;
  threads: Meta['threads'];
  signals: Meta['signals'];
  timers: Meta['timers'];
  /** Owner and signal of each O_ASYNC fd. */
  owners: Map<number, FdOwner>;
}

/** `parent`: its parent when that is in the tree (to see whether they share one fd table). */
export function collectProcess(fp: FrozenProcess, parent?: number): CollectedProcess {
  const pid = fp.pid;
  const t = fp.main;
  const vdsoInsn = findSyscallInVdso(pid);
  for (const th of fp.threads) if (!th.findSyscallAtRip()) th.syscallInsn = vdsoInsn;
  const base = t.call('mmap (scratch)', SYS.mmap, 0, SCRATCH_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  let scratch: Scratch | undefined = new Scratch(pid, base, SCRATCH_SIZE);
  let heldRequeued = false;
  try {
    const r: Remote = { t, s: scratch };
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const process: ProcessState = { ...dumpProcess(r, pid), pgid: stat.pgrp, sid: stat.session, stopped: fp.main.wasStopped, tpgid: stat.tpgid,
      filesOfParent: parent !== undefined && syscallRaw(SYS.kcmp, parent, pid, KCMP_FILES, 0, 0) === 0,
    };
    phase('process');
    const threads = fp.threads.map((th) => {
      scratch!.reset();
      return { ...dumpThread({ t: th, s: scratch! }, pid, th.pid), sigmask: fp.maskOf(th.pid).toString(16) };
    });
    scratch.reset();
    phase('thread');
    const actions = dumpActions(r, pid);
    phase('sigactions');
    scratch.reset();
    const sharedPending = dumpSharedPending(pid);
    const itimers = dumpItimers(r);
    const posix = dumpPosixTimers(r, pid);
    const owners = dumpOwners(r, pid);
    scratch.reset();
    // Signals ckpt took from the thread while freezing go back into its queue
    // now (blocked until release); the image has them as pending already.
    for (const th of fp.threads) queueSignals({ t: th, s: scratch }, pid, th.pid, th.held.map((h) => h.siginfo));
    heldRequeued = true;
    t.call('munmap (scratch)', SYS.munmap, base, SCRATCH_SIZE);
    scratch = undefined;
    phase('timers+unmap');
    return { pid, process, threads, signals: { actions, sharedPending }, timers: { itimers, posix }, owners };
  } catch (e) {
    try {
      if (scratch) t.syscall(SYS.munmap, scratch.base, SCRATCH_SIZE);
      // Give back signals taken during the freeze, the simple way.
      if (!heldRequeued) for (const th of fp.threads) for (const h of th.held) syscallRaw(SYS.tgkill, pid, th.pid, h.signal);
    } catch { /* the target is gone: nothing to give back */ }
    throw e;
  }
}

function findSyscallInVdso(pid: number): number {
  const vdso = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).find((m) => m.path === '[vdso]');
  if (!vdso) throw new CkptError('INTERNAL', `process ${pid} has no vDSO to run syscalls through`, { pid });
  const code = mem.read(pid, vdso.start, vdso.end - vdso.start);
  for (let i = 0; i + 1 < code.length; i++) if (code[i] === 0x0f && code[i + 1] === 0x05) return vdso.start + i;
  throw new CkptError('INTERNAL', `no syscall instruction in the vDSO of ${pid}`, { pid });
}
