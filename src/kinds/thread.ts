// A thread's own state: registers, FPU/SSE/AVX (xstate), fs/gs base (in the
// registers), signal mask, its private signal queue, alternate signal stack,
// rseq area, robust futex list, clear_child_tid.
import { readFileSync } from 'node:fs';
import { ptrace, SYS, PR, sreg, reg, setReg, getRobustList, ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK } from '../sys/index.js';
import type { Thread } from '../image/format.js';
import type { Remote } from '../tracee/remote.js';

const SS_ONSTACK = 1;
const NR_nanosleep = 35;
const NR_clock_nanosleep = 230;

export function dumpThread(r: Remote, pid: number, tid: number): Thread {
  const t = r.t;
  const rseq = ptrace.getRseqConfig(tid);
  const robust = getRobustList(tid);
  const tidAddr = r.s.alloc(8);
  t.call('prctl(PR_GET_TID_ADDRESS)', SYS.prctl, PR.GET_TID_ADDRESS, tidAddr, 0, 0, 0);
  const ss = r.s.alloc(24);
  t.call('sigaltstack', SYS.sigaltstack, 0, ss);
  const ssb = r.s.read(ss, 24);
  const pending = ptrace.peekSiginfo(tid, false).concat(t.held.map((h) => h.siginfo));
  return {
    tid,
    name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').replace(/\n$/, ''),
    regs: t.regs.toString('base64'),
    xstate: ptrace.getXstate(tid).toString('base64'),
    sigmask: ptrace.getSigmask(tid).toString(16),
    pending: pending.map((b) => b.toString('base64')),
    rseq: rseq.address ? { address: Number(rseq.address), length: rseq.length, signature: rseq.signature } : null,
    robustList: { head: Number(robust.head), len: robust.len },
    clearChildTid: Number(r.s.read(tidAddr, 8).readBigUInt64LE(0)),
    altstack: { sp: Number(ssb.readBigUInt64LE(0)), flags: ssb.readInt32LE(8), size: Number(ssb.readBigUInt64LE(16)) },
    sleepRemainingNs: sleepRemaining(r, t.regs),
  };
}

/**
 * A relative nanosleep interrupted by the freeze: the kernel wrote the time
 * left to the caller's `rem` (when it gave one). Restore resumes the sleep
 * for that long; without `rem`, for the full request.
 */
function sleepRemaining(r: Remote, regs: Buffer): string | null {
  if (Number(-sreg(regs, 'rax')) !== ERESTART_RESTARTBLOCK) return null;
  const nr = Number(sreg(regs, 'orig_rax'));
  let req: bigint, rem: bigint;
  if (nr === NR_nanosleep) { req = reg(regs, 'rdi'); rem = reg(regs, 'rsi'); }
  else if (nr === NR_clock_nanosleep) { req = reg(regs, 'rdx'); rem = reg(regs, 'r10'); }
  else return null;
  const at = rem || req;
  try {
    const b = r.s.read(Number(at), 16);
    return (b.readBigInt64LE(0) * 1_000_000_000n + b.readBigInt64LE(8)).toString();
  } catch {
    return null;
  }
}

/** Everything of the thread but its registers, which come last. */
export function restoreThreadState(r: Remote, th: Thread): void {
  const t = r.t;
  const name = Buffer.alloc(16);
  name.write(th.name.slice(0, 15));
  t.call('prctl(PR_SET_NAME)', SYS.prctl, PR.SET_NAME, r.s.put(name), 0, 0, 0);
  ptrace.setXstate(t.pid, Buffer.from(th.xstate, 'base64'));
  if (th.altstack.flags !== 2 /* SS_DISABLE */) {
    const b = Buffer.alloc(24);
    b.writeBigUInt64LE(BigInt(th.altstack.sp), 0);
    b.writeInt32LE(th.altstack.flags & ~SS_ONSTACK, 8);
    b.writeBigUInt64LE(BigInt(th.altstack.size), 16);
    t.call('sigaltstack', SYS.sigaltstack, r.s.put(b), 0);
  }
  t.call('set_robust_list', SYS.set_robust_list, th.robustList.head, th.robustList.len || 24);
  t.call('set_tid_address', SYS.set_tid_address, th.clearChildTid);
  if (th.rseq) t.call('rseq', SYS.rseq, th.rseq.address, th.rseq.length, 0, th.rseq.signature);
}

/**
 * The registers a restored thread resumes with. A thread frozen inside a
 * syscall has rax = -ERESTART*: the kernel re-runs the call when it resumes
 * from a ptrace stop. -ERESTART_RESTARTBLOCK relies on kernel state a new
 * process lacks, so for anything but a sleep (see `primeSleep`) it becomes a
 * plain re-run of the same call.
 */
export function finalRegs(th: Thread, slept = false): Buffer {
  const regs = Buffer.from(th.regs, 'base64');
  if (slept) {
    // The rest of the sleep already ran out while ckpt restored: the call returns 0.
    setReg(regs, 'rax', 0);
    setReg(regs, 'orig_rax', -1);
    return regs;
  }
  if (sreg(regs, 'orig_rax') >= 0n && Number(-sreg(regs, 'rax')) === ERESTART_RESTARTBLOCK && th.sleepRemainingNs === null) {
    setReg(regs, 'rax', -ERESTARTNOINTR);
  }
  return regs;
}

/**
 * Give a restored thread the kernel's restart state of a relative sleep:
 * start a sleep of the remaining time, interrupt it, and leave the thread in
 * that stop. When it resumes with its saved registers (rax =
 * -ERESTART_RESTARTBLOCK), the kernel goes on sleeping and reports to the
 * program's own `rem` pointer, exactly as for the original.
 */
export function primeSleep(r: Remote, th: Thread): 'primed' | 'slept' | 'none' {
  if (th.sleepRemainingNs === null) return 'none';
  const regs = Buffer.from(th.regs, 'base64');
  const nr = Number(sreg(regs, 'orig_rax'));
  const clock = nr === NR_clock_nanosleep ? Number(reg(regs, 'rdi')) : 1;
  const rem = nr === NR_clock_nanosleep ? reg(regs, 'r10') : reg(regs, 'rsi');
  const left = BigInt(th.sleepRemainingNs);
  const ts = Buffer.alloc(16);
  ts.writeBigInt64LE(left / 1_000_000_000n, 0);
  ts.writeBigInt64LE(left % 1_000_000_000n, 8);
  return r.t.startBlockingAndInterrupt(SYS.clock_nanosleep, clock, 0, r.s.put(ts), rem) === 'interrupted' ? 'primed' : 'slept';
}

const CLONE_THREAD_FLAGS = 0x100 /* VM */ | 0x200 /* FS */ | 0x400 /* FILES */ | 0x800 /* SIGHAND */ | 0x10000 /* THREAD */ | 0x40000; /* SYSVSEM */

/**
 * A further thread for a restored process, with its saved TID: clone3 with
 * set_tid run in the main thread. The new thread is auto-attached (ptrace
 * TRACECLONE) and waits in a stop at the trampoline.
 */
export function createThread(r: Remote, tid: number): void {
  const tidAt = r.s.put(Buffer.from(new Int32Array([tid]).buffer));
  const args = Buffer.alloc(88);
  args.writeBigUInt64LE(BigInt(CLONE_THREAD_FLAGS), 0);
  args.writeBigUInt64LE(BigInt(tidAt), 64);
  args.writeBigUInt64LE(1n, 72);
  const got = r.t.call(`clone3 (thread ${tid})`, SYS.clone3, r.s.put(args), 88);
  if (got !== tid) throw new Error(`thread came back as ${got}, not ${tid}`);
}

export const RESTART_CODES = [ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK];
