export * from './constants.js';
export * from './errno.js';
export { addr, syscall, syscallRaw } from './libc.js';
export * as ptrace from './ptrace.js';
export * as mem from './mem.js';
export * from './regs.js';
export * from './wait.js';
export * from './process.js';
