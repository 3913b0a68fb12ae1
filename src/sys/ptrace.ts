// One typed function per ptrace request, all through the raw syscall (so
// PEEK-style results are stored at `data`, never returned).
import { addr, syscallRaw, type Arg } from './libc.js';
import { check } from './errno.js';
import { NT, PTRACE, SYS } from './constants.js';

function pt(name: string, req: number, pid: number, a: Arg = 0, d: Arg = 0): number {
  return check(`ptrace(${name})`, syscallRaw(SYS.ptrace, req, pid, a, d), `pid ${pid}`);
}

export const seize = (pid: number, options: number) => pt('SEIZE', PTRACE.SEIZE, pid, 0, options);
export const interrupt = (pid: number) => pt('INTERRUPT', PTRACE.INTERRUPT, pid);
export const cont = (pid: number, sig = 0) => pt('CONT', PTRACE.CONT, pid, 0, sig);
export const singlestep = (pid: number, sig = 0) => pt('SINGLESTEP', PTRACE.SINGLESTEP, pid, 0, sig);
export const detach = (pid: number, sig = 0) => pt('DETACH', PTRACE.DETACH, pid, 0, sig);
export const listen = (pid: number) => pt('LISTEN', PTRACE.LISTEN, pid);
export const setOptions = (pid: number, options: number) => pt('SETOPTIONS', PTRACE.SETOPTIONS, pid, 0, options);

export function getEventMsg(pid: number): bigint {
  const b = Buffer.alloc(8);
  pt('GETEVENTMSG', PTRACE.GETEVENTMSG, pid, 0, addr(b));
  return b.readBigUInt64LE(0);
}

/** GETREGSET into a buffer of the given maximum size; returns the bytes the kernel filled. */
export function getRegset(pid: number, type: number, size: number): Buffer {
  const data = Buffer.alloc(size);
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(addr(data), 0);
  iov.writeBigUInt64LE(BigInt(size), 8);
  pt('GETREGSET', PTRACE.GETREGSET, pid, type, addr(iov));
  return data.subarray(0, Number(iov.readBigUInt64LE(8)));
}

export function setRegset(pid: number, type: number, data: Buffer): void {
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(addr(data), 0);
  iov.writeBigUInt64LE(BigInt(data.length), 8);
  pt('SETREGSET', PTRACE.SETREGSET, pid, type, addr(iov));
}

export const USER_REGS_SIZE = 216;
export const getRegs = (pid: number) => getRegset(pid, NT.PRSTATUS, USER_REGS_SIZE);
export const setRegs = (pid: number, regs: Buffer) => setRegset(pid, NT.PRSTATUS, regs);
/** Full XSAVE area (FPU/SSE/AVX...). Its size depends on the CPU's XCR0. */
export const getXstate = (pid: number) => getRegset(pid, NT.X86_XSTATE, 16384);
export const setXstate = (pid: number, x: Buffer) => setRegset(pid, NT.X86_XSTATE, x);

export function getSigmask(pid: number): bigint {
  const b = Buffer.alloc(8);
  pt('GETSIGMASK', PTRACE.GETSIGMASK, pid, 8, addr(b));
  return b.readBigUInt64LE(0);
}

export function setSigmask(pid: number, mask: bigint): void {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(mask, 0);
  pt('SETSIGMASK', PTRACE.SETSIGMASK, pid, 8, addr(b));
}

export const SIGINFO_SIZE = 128;

export function getSiginfo(pid: number): Buffer {
  const b = Buffer.alloc(SIGINFO_SIZE);
  pt('GETSIGINFO', PTRACE.GETSIGINFO, pid, 0, addr(b));
  return b;
}

/** Queued signals without dequeuing them: per-thread queue or the shared one. */
export function peekSiginfo(pid: number, shared: boolean): Buffer[] {
  const out: Buffer[] = [];
  const args = Buffer.alloc(16);
  const buf = Buffer.alloc(SIGINFO_SIZE * 32);
  for (;;) {
    args.writeBigUInt64LE(BigInt(out.length), 0);
    args.writeUInt32LE(shared ? 1 : 0, 8);
    args.writeInt32LE(32, 12);
    const n = pt('PEEKSIGINFO', PTRACE.PEEKSIGINFO, pid, addr(args), addr(buf));
    for (let i = 0; i < n; i++) out.push(Buffer.from(buf.subarray(i * SIGINFO_SIZE, (i + 1) * SIGINFO_SIZE)));
    if (n < 32) return out;
  }
}

export interface RseqConfig { address: bigint; length: number; flags: number; signature: number }

export function getRseqConfig(pid: number): RseqConfig {
  // struct ptrace_rseq_configuration: u64 pointer, u32 size, u32 signature, u32 flags, u32 pad.
  const b = Buffer.alloc(24);
  pt('GET_RSEQ_CONFIGURATION', PTRACE.GET_RSEQ_CONFIGURATION, pid, 24, addr(b));
  return {
    address: b.readBigUInt64LE(0),
    length: b.readUInt32LE(8),
    signature: b.readUInt32LE(12),
    flags: b.readUInt32LE(16),
  };
}
