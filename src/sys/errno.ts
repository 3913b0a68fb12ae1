import { constants } from 'node:os';

// errno number -> name, from Node's own table (no hand-written list).
const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v as number, k]));

/** A failed syscall, shaped like Node's system errors (code, errno, syscall). */
export class SysError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  constructor(syscall: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    super(`${syscall}${detail ? ` (${detail})` : ''}: ${code}`);
    this.name = 'SysError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
  }
}

export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/** Throw a SysError when a raw result is -errno; return it otherwise. */
export function check(name: string, r: number, detail?: string): number {
  if (r < 0 && r > -4096) throw new SysError(name, -r, detail);
  return r;
}
