// The one file that loads koffi. Everything that crosses into native code is
// declared here as a narrow, typed surface; the rest of sys/ builds on it.
import koffi from 'koffi';
import { SysError } from './errno.js';

const libc = koffi.load('libc.so.6');

// glibc's syscall() is variadic; on x86_64 a fixed six-argument prototype
// passes the same registers, and lets every argument be a Number or BigInt.
const rawSyscall = libc.func('long syscall(long nr, long a, long b, long c, long d, long e, long f)');

export type Arg = number | bigint;

/** Address of a Buffer's bytes, to pass as a pointer argument. */
export function addr(buf: Buffer): bigint {
  return BigInt(koffi.address(buf) as bigint | number);
}

/** Raw syscall: returns the result, or -errno. Never throws. */
export function syscallRaw(nr: number, ...args: Arg[]): number {
  const a = [0, 0, 0, 0, 0, 0].map((z, i) => args[i] ?? z);
  const r = rawSyscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) as number | bigint;
  const n = typeof r === 'bigint' ? Number(r) : r;
  if (n === -1) return -(koffi.errno() as number);
  return n;
}

/** Syscall that throws a SysError (code like 'ESRCH') on failure. */
export function syscall(name: string, nr: number, ...args: Arg[]): number {
  const r = syscallRaw(nr, ...args);
  if (r < 0 && r > -4096) throw new SysError(name, -r);
  return r;
}

// posix_spawn family: the only safe way for a multithreaded Node process to
// start a child it will trace (see LINUX-NOTES: never fork(), never libuv).
export const spawnApi = {
  spawn: libc.func('int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)'),
  faInit: libc.func('int posix_spawn_file_actions_init(void *fa)'),
  faDestroy: libc.func('int posix_spawn_file_actions_destroy(void *fa)'),
  faDup2: libc.func('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
  faOpen: libc.func('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, int mode)'),
  faCloseFrom: libc.func('int posix_spawn_file_actions_addclosefrom_np(void *fa, int from)'),
  attrInit: libc.func('int posix_spawnattr_init(void *attr)'),
  attrDestroy: libc.func('int posix_spawnattr_destroy(void *attr)'),
  attrSetFlags: libc.func('int posix_spawnattr_setflags(void *attr, short flags)'),
  attrSetSigmask: libc.func('int posix_spawnattr_setsigmask(void *attr, void *set)'),
  attrSetSigdefault: libc.func('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
  attrSetPgroup: libc.func('int posix_spawnattr_setpgroup(void *attr, int pgroup)'),
};
