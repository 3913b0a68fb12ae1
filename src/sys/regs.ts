// struct user_regs_struct (asm/user_64.h): 27 unsigned longs, kept as a
// Buffer so 64-bit values never pass through a JS Number.
const NAMES = [
  'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx',
  'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss', 'fs_base',
  'gs_base', 'ds', 'es', 'fs', 'gs',
] as const;
export type RegName = (typeof NAMES)[number];
export const REG_NAMES: readonly RegName[] = NAMES;

const off = (name: RegName) => NAMES.indexOf(name) * 8;

export function reg(regs: Buffer, name: RegName): bigint {
  return regs.readBigUInt64LE(off(name));
}
/** A register as a signed value (rax after a syscall, orig_rax). */
export function sreg(regs: Buffer, name: RegName): bigint {
  return regs.readBigInt64LE(off(name));
}
export function setReg(regs: Buffer, name: RegName, v: bigint | number): void {
  const b = BigInt(v);
  if (b < 0n) regs.writeBigInt64LE(b, off(name));
  else regs.writeBigUInt64LE(b, off(name));
}

/** Syscall argument registers in ABI order. */
export const ARG_REGS: readonly RegName[] = ['rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'];
