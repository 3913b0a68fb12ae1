// Small process-level syscalls used by the tracer itself.
import { fstatSync } from 'node:fs';
import { addr, spawnApi, syscall, syscallRaw } from './libc.js';
import { check, SysError } from './errno.js';
import { PR, SYS, O } from './constants.js';

export const getpid = () => syscall('getpid', SYS.getpid);
export const kill = (pid: number, sig: number) => syscall('kill', SYS.kill, pid, sig);
export const tgkill = (tgid: number, tid: number, sig: number) => syscall('tgkill', SYS.tgkill, tgid, tid, sig);
export const close = (fd: number) => syscall('close', SYS.close, fd);

export function setChildSubreaper(): void {
  syscall('prctl(PR_SET_CHILD_SUBREAPER)', SYS.prctl, PR.SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

export function pipe2(flags: number = O.CLOEXEC): [number, number] {
  const b = Buffer.alloc(8);
  syscall('pipe2', SYS.pipe2, addr(b), flags);
  return [b.readInt32LE(0), b.readInt32LE(4)];
}

/** tee(2): duplicate up to `len` bytes from one pipe into another without consuming them. */
export function tee(fdIn: number, fdOut: number, len: number, flags: number): number {
  return check('tee', syscallRaw(SYS.tee, fdIn, fdOut, len, flags));
}

export function getRobustList(pid: number): { head: bigint; len: number } {
  const h = Buffer.alloc(8);
  const l = Buffer.alloc(8);
  syscall('get_robust_list', SYS.get_robust_list, pid, addr(h), addr(l));
  return { head: h.readBigUInt64LE(0), len: Number(l.readBigUInt64LE(0)) };
}

export function clockGettime(clock: number): bigint {
  const b = Buffer.alloc(16);
  syscall('clock_gettime', SYS.clock_gettime, clock, addr(b));
  return b.readBigInt64LE(0) * 1_000_000_000n + b.readBigInt64LE(8);
}

export interface SpawnOptions {
  /** fd in the child -> fd in ckpt, applied in order. */
  dup2?: Array<[child: number, parent: number]>;
  /** Files opened in the child at a given fd, after the dup2s. */
  open?: Array<[child: number, path: string, flags: number]>;
  /** Close every fd from this number up in the child. */
  closeFrom?: number;
  env?: Record<string, string>;
  /** Put the child in a new process group. */
  newPgroup?: boolean;
  /** Make the child a session leader (before the file actions: a terminal it opens becomes its controlling one). */
  setsid?: boolean;
  /** dup2s applied after the opens. */
  after?: Array<[child: number, parent: number]>;
}

export function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

const POSIX_SPAWN_SETPGROUP = 0x02;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;

/**
 * posix_spawn with clean signal state: empty mask, every disposition default
 * (glibc's sigfillset skips 32/33, so the set is filled by hand).
 */
export function spawn(path: string, argv: string[], opts: SpawnOptions = {}): number {
  const fa = Buffer.alloc(80);
  const attr = Buffer.alloc(336);
  spawnApi.faInit(fa);
  spawnApi.attrInit(attr);
  try {
    const dups = opts.dup2 ?? [];
    for (const [child, parent] of dups) spawnApi.faDup2(fa, parent, child);
    for (const [child, path, flags] of opts.open ?? []) spawnApi.faOpen(fa, child, path, flags, 0);
    for (const [child, fd] of opts.after ?? []) spawnApi.faDup2(fa, fd, child);
    // stdin/stdout/stderr not set otherwise are inherited, even if ckpt's own are close-on-exec
    // (dup2 of an fd onto itself clears FD_CLOEXEC).
    for (const k of [0, 1, 2]) {
      const set = dups.some(([c]) => c === k) || (opts.open ?? []).some(([c]) => c === k) || (opts.after ?? []).some(([c]) => c === k);
      if (!set && isOpen(k)) spawnApi.faDup2(fa, k, k);
    }
    if (opts.closeFrom !== undefined) spawnApi.faCloseFrom(fa, opts.closeFrom);
    const all = Buffer.alloc(128, 0xff);
    const none = Buffer.alloc(128, 0);
    spawnApi.attrSetSigdefault(attr, all);
    spawnApi.attrSetSigmask(attr, none);
    let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (opts.setsid) flags |= POSIX_SPAWN_SETSID;
    if (opts.newPgroup) {
      flags |= POSIX_SPAWN_SETPGROUP;
      spawnApi.attrSetPgroup(attr, 0);
    }
    spawnApi.attrSetFlags(attr, flags);
    const env = Object.entries(opts.env ?? (process.env as Record<string, string>)).map(([k, v]) => `${k}=${v}`);
    const pid = [0];
    const rc = spawnApi.spawn(pid, path, fa, attr, [...argv, null], [...env, null]) as number;
    if (rc !== 0) throw new SysError('posix_spawn', rc, path);
    return pid[0];
  } finally {
    spawnApi.faDestroy(fa);
    spawnApi.attrDestroy(attr);
  }
}
