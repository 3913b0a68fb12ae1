// File locks held through an fd: flock(2) locks and OFD locks belong to the
// open file description, POSIX (fcntl/lockf) locks to the process. Dump reads
// them from the fd's "lock:" lines in /proc/PID/fdinfo; restore takes them
// again, without waiting: a lock another process took in the meantime makes
// the restore fail, naming the file and the holder, with nothing left behind.
// Leases are refused by name.
import { readFileSync, statSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { SYS } from '../sys/index.js';
import type { RestoreContext } from './types.js';

import { type Lock } from '../image/format.js';

const KINDS: Record<string, Lock['kind']> = { FLOCK: 'flock', POSIX: 'posix', OFDLCK: 'ofd' };

/** The locks in an fd's fdinfo lines ("lock:\t1: POSIX  ADVISORY  WRITE 1234 08:01:99 0 EOF"). */
export function parseLocks(lines: string[], where: string): Lock[] {
  const out: Lock[] = [];
  for (const line of lines) {
    if (!line.startsWith('lock:')) continue;
    const f = line.replace(/^lock:\s*\d+:\s*/, '').replace(/^->\s*/, '').trim().split(/\s+/);
    const kind = KINDS[f[0]];
    if (!kind) throw new CkptError('KIND_UNSUPPORTED', `${where}: a file ${f[0] === 'LEASE' || f[0] === 'DELEG' ? 'lease' : `lock of kind ${f[0]}`} (not supported yet)`);
    if (f[1] !== 'ADVISORY') throw new CkptError('KIND_UNSUPPORTED', `${where}: a ${f[1].toLowerCase()} file lock (not supported yet)`);
    out.push({ kind, write: f[2] === 'WRITE', start: f[f.length - 2], end: f[f.length - 1] });
  }
  return out;
}

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const F_SETLK = 6;
const F_OFD_SETLK = 37;
const F_RDLCK = 0;
const F_WRLCK = 1;
const EAGAIN = 11;

/** Take the locks again on `fd` of the target. */
export function restoreLocks(ctx: RestoreContext, fd: number, locks: Lock[], path: string): void {
  const t = ctx.tracee;
  for (const l of locks) {
    let rc: number;
    if (l.kind === 'flock') {
      rc = t.syscall(SYS.flock, fd, (l.write ? LOCK_EX : LOCK_SH) | LOCK_NB);
    } else {
      // struct flock: l_type (short), l_whence (short), pad, l_start, l_len, l_pid.
      const b = Buffer.alloc(32);
      b.writeInt16LE(l.write ? F_WRLCK : F_RDLCK, 0);
      b.writeInt16LE(0, 2); // SEEK_SET
      const start = BigInt(l.start);
      b.writeBigInt64LE(start, 8);
      b.writeBigInt64LE(l.end === 'EOF' ? 0n : BigInt(l.end) - start + 1n, 16);
      rc = t.syscall(SYS.fcntl, fd, l.kind === 'ofd' ? F_OFD_SETLK : F_SETLK, ctx.scratch.put(b));
    }
    if (rc === -EAGAIN || rc === -13 /* EACCES */) {
      throw new CkptError('FILE_CHANGED', `the ${l.write ? 'write' : 'read'} ${l.kind === 'flock' ? 'flock' : l.kind === 'ofd' ? 'OFD' : 'POSIX'} lock on ${path} (fd ${fd}) is held by another process now${holderOf(path)}`, {
        path, hint: 'end the process holding the lock (or restore elsewhere); nothing was restored',
      });
    }
    if (rc < 0) throw new CkptError('IO', `cannot take the lock on ${path} again (errno ${-rc})`, { path });
  }
}

/** Who holds a lock on the file now, from /proc/locks (best effort, for the message). */
function holderOf(path: string): string {
  try {
    const ino = statSync(path).ino;
    const line = readFileSync('/proc/locks', 'utf8').split('\n').find((l) => l.split(/\s+/)[5]?.endsWith(`:${ino}`));
    const pid = line?.split(/\s+/)[4];
    return pid && pid !== '-1' ? ` (PID ${pid})` : '';
  } catch {
    return '';
  }
}
