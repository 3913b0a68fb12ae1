// A frozen thread: seize, interrupt, run syscalls inside it, put everything
// back and let it go. Every ptrace call for a tracee happens on this (the
// main) thread.
import {
  ptrace, waitFor, tryWait, reg, sreg, setReg, ARG_REGS, mem, PTRACE_EVENT, PTRACE_O, SIG,
  SysError, type WaitResult,
} from '../sys/index.js';
import { CkptError } from '../errors.js';
import { readFileSync } from 'node:fs';

/** A signal that arrived while ckpt held the thread; it is re-queued before release. */
export interface HeldSignal { signal: number; siginfo: Buffer }

export class Tracee {
  readonly pid: number;
  /** Registers as found at the freeze; what the thread gets back on release. */
  regs: Buffer;
  /** Signals taken from the thread while it was held (delivered back on release). */
  readonly held: HeldSignal[] = [];
  /** Address of a `syscall` instruction in an executable page of the target. */
  syscallInsn = 0;
  /** Events (fork/clone) seen while stepping, with their message (the new pid). */
  readonly events: Array<{ event: number; msg: bigint }> = [];
  /** Was the thread in a group-stop (SIGSTOPped) when seized? */
  wasStopped = false;

  private constructor(pid: number, regs: Buffer) {
    this.pid = pid;
    this.regs = regs;
  }

  /** PTRACE_SEIZE + PTRACE_INTERRUPT, then wait until the thread is in a ptrace stop. */
  static freeze(pid: number, options = 0, timeoutMs = 10_000): Tracee {
    for (let attempt = 0; ; attempt++) {
      try {
        ptrace.seize(pid, options);
        break;
      } catch (e) {
        // A process still inside execve() refuses briefly: try again for a moment.
        if ((e as { code?: string }).code !== 'EPERM' || attempt >= 50) throw targetError(pid, e, 'seize');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      }
    }
    try {
      return Tracee.stop(pid, timeoutMs);
    } catch (e) {
      try { ptrace.detach(pid); } catch { /* already gone */ }
      throw e;
    }
  }

  /**
   * Bring a thread ckpt already traces (it is seized, and running) into a
   * ptrace stop: interrupt, then wait, holding any signal that comes first.
   */
  static stop(pid: number, timeoutMs = 10_000): Tracee {
    const held: HeldSignal[] = [];
    let wasStopped = false;
    ptrace.interrupt(pid);
    for (;;) {
      const w = waitFor(pid, timeoutMs);
      if (w.kind !== 'stopped') throw new CkptError('TARGET_GONE', `process ${pid} ended while being frozen`, { pid });
      if (w.event === PTRACE_EVENT.STOP) {
        wasStopped = w.signal !== SIG.TRAP;
        break;
      }
      if (w.event !== 0) { ptrace.cont(pid); continue; }
      // A signal was about to be delivered: take it, and give it back later.
      held.push({ signal: w.signal, siginfo: ptrace.getSiginfo(pid) });
      ptrace.cont(pid, 0);
    }
    const t = new Tracee(pid, ptrace.getRegs(pid));
    t.held.push(...held);
    t.wasStopped = wasStopped;
    return t;
  }

  /** Adopt a thread that is already in a ptrace stop (an auto-attached child). */
  static adopt(pid: number): Tracee {
    return new Tracee(pid, ptrace.getRegs(pid));
  }

  /** Was the thread stopped inside a syscall (rax holds -ERESTART* or -EINTR)? */
  get inSyscall(): boolean {
    return sreg(this.regs, 'orig_rax') >= 0n;
  }

  /** Use the `syscall` instruction the thread is stopped after, if it is one. */
  findSyscallAtRip(): boolean {
    if (!this.inSyscall) return false;
    const rip = Number(reg(this.regs, 'rip'));
    try {
      const b = mem.read(this.pid, rip - 2, 2);
      if (b[0] === 0x0f && b[1] === 0x05) {
        this.syscallInsn = rip - 2;
        return true;
      }
    } catch { /* not readable: fall back to another instruction */ }
    return false;
  }

  /**
   * Run one syscall inside the thread: point rip at a `syscall` instruction,
   * single-step over it, read rax. Returns the raw result (-errno on error).
   */
  syscall(nr: number, ...args: Array<number | bigint>): number {
    if (!this.syscallInsn) throw new Error(`no syscall instruction known in pid ${this.pid}`);
    const r = Buffer.from(this.regs);
    setReg(r, 'rax', nr);
    setReg(r, 'orig_rax', -1); // never let the kernel "restart" our injected call
    setReg(r, 'rip', this.syscallInsn);
    args.forEach((a, i) => setReg(r, ARG_REGS[i], a));
    ptrace.setRegs(this.pid, r);
    const out = this.step();
    const rip = Number(reg(out, 'rip'));
    if (rip !== this.syscallInsn + 2) {
      throw new Error(`injected syscall ${nr} in pid ${this.pid} ended at 0x${rip.toString(16)}, not after the instruction`);
    }
    return Number(sreg(out, 'rax'));
  }

  /** syscall() that throws a SysError naming the call on failure. */
  call(name: string, nr: number, ...args: Array<number | bigint>): number {
    const r = this.syscall(nr, ...args);
    if (r < 0 && r > -4096) throw new SysError(name, -r, `in pid ${this.pid}`);
    return r;
  }

  /** Single-step until the trap; returns the registers there. */
  step(): Buffer {
    let sig = 0;
    for (;;) {
      ptrace.singlestep(this.pid, sig);
      sig = 0;
      const w = waitFor(this.pid, 30_000);
      if (w.kind !== 'stopped') throw goneDuring(this.pid, w);
      if (w.event !== 0) {
        this.events.push({ event: w.event, msg: ptrace.getEventMsg(this.pid) });
        continue;
      }
      if (w.signal === SIG.TRAP) {
        const regs = ptrace.getRegs(this.pid);
        // The trap right after our instruction is our step; any other SIGTRAP is the program's.
        if (Number(reg(regs, 'rip')) === this.syscallInsn + 2) return regs;
        const info = ptrace.getSiginfo(this.pid);
        const code = info.readInt32LE(8);
        if (code === 2 || code === 1 || code === 0x80) return regs;
        this.held.push({ signal: w.signal, siginfo: info });
        continue;
      }
      // Some other signal arrived meanwhile: hold it, suppress it for now.
      this.held.push({ signal: w.signal, siginfo: ptrace.getSiginfo(this.pid) });
    }
  }

  /**
   * Start a syscall that blocks (a sleep), wait until the thread is inside it,
   * interrupt it, and leave the thread in that stop: the kernel's restart state
   * for the call stays with the thread.
   */
  startBlockingAndInterrupt(nr: number, ...args: Array<number | bigint>): 'interrupted' | 'completed' {
    const r = Buffer.from(this.regs);
    setReg(r, 'rax', nr);
    setReg(r, 'orig_rax', -1);
    setReg(r, 'rip', this.syscallInsn);
    args.forEach((a, i) => setReg(r, ARG_REGS[i], a));
    ptrace.setRegs(this.pid, r);
    ptrace.cont(this.pid);
    const deadline = Date.now() + 10_000;
    let stopped = false;
    for (;;) {
      // A short call may be over before ckpt looks: it then stops at the int3 after the instruction.
      const w = tryWait(this.pid);
      if (w) {
        if (w.kind !== 'stopped') throw goneDuring(this.pid, w);
        stopped = true;
        break;
      }
      let line = '';
      try { line = readFileSync(`/proc/${this.pid}/syscall`, 'utf8'); } catch { /* racing */ }
      if (line.startsWith(`${nr} `)) break;
      if (Date.now() > deadline) throw new Error(`pid ${this.pid} did not enter syscall ${nr}`);
    }
    if (!stopped) {
      ptrace.interrupt(this.pid);
      const w = waitFor(this.pid, 10_000);
      if (w.kind !== 'stopped') throw goneDuring(this.pid, w);
    }
    // Stopped either in the call (interrupted) or after it (at the int3): make
    // sure the thread sits in a clean ptrace stop, and tell which it was.
    for (;;) {
      const regs = ptrace.getRegs(this.pid);
      if (Number(sreg(regs, 'orig_rax')) === nr && sreg(regs, 'rax') < 0n && sreg(regs, 'rax') > -4096n) return 'interrupted';
      const at = Number(reg(regs, 'rip'));
      if (at >= this.syscallInsn + 2 && at <= this.syscallInsn + 4) return 'completed';
      ptrace.cont(this.pid);
      const w = waitFor(this.pid, 10_000);
      if (w.kind !== 'stopped') throw goneDuring(this.pid, w);
    }
  }

  /** Put the saved registers back. */
  restoreRegs(): void {
    ptrace.setRegs(this.pid, this.regs);
  }

  detach(sig = 0): void {
    ptrace.detach(this.pid, sig);
  }
}

function goneDuring(pid: number, w: WaitResult): CkptError {
  const how = w.kind === 'exited' ? `exited with ${w.code}` : w.kind === 'signaled' ? `was killed by signal ${w.signal}` : 'changed state';
  return new CkptError('TARGET_GONE', `process ${pid} ${how} while ckpt was working on it`, { pid });
}

function targetError(pid: number, e: unknown, what: string): CkptError {
  const code = (e as { code?: string }).code;
  if (code === 'ESRCH') return new CkptError('NO_SUCH_PROCESS', `no process with PID ${pid}`, { pid, cause: e });
  if (code === 'EPERM') {
    return new CkptError('PERMISSION', `not allowed to ${what} process ${pid} (it may already be traced by a debugger, or belong to another user)`, { pid, cause: e, hint: 'run ckpt as root, and detach any debugger (gdb, strace) first' });
  }
  return new CkptError('INTERNAL', `cannot ${what} process ${pid}`, { pid, cause: e });
}

export const TRACE_FORKS = PTRACE_O.TRACEFORK | PTRACE_O.TRACECLONE | PTRACE_O.TRACEVFORK;
