// The owner of an fd's open file description (F_SETOWN_EX) and the signal it
// sends (F_SETSIG), for fds with O_ASYNC (signal-driven I/O): what only the
// process can tell, asked with one fcntl each inside it, and set again once
// the fd is back, with O_ASYNC last.
import { readdirSync, readFileSync } from 'node:fs';
import { SYS, F } from '../sys/index.js';
import type { FdOwner } from '../image/format.js';
import type { Remote } from '../tracee/remote.js';

const O_ASYNC = 0o20000;
const F_SETOWN_EX = 15;
const F_GETOWN_EX = 16;
const F_SETSIG = 10;
const F_GETSIG = 11;

/** Owners of every O_ASYNC fd of the process, by fd number. */
export function dumpOwners(r: Remote, pid: number): Map<number, FdOwner> {
  const out = new Map<number, FdOwner>();
  for (const name of readdirSync(`/proc/${pid}/fdinfo`)) {
    let flags = 0;
    try { flags = parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8'))?.[1] ?? '0', 8); } catch { continue; }
    if (!(flags & O_ASYNC)) continue;
    const fd = Number(name);
    r.s.reset();
    const ex = r.s.alloc(8);
    r.t.call(`fcntl(${fd}, F_GETOWN_EX)`, SYS.fcntl, fd, F_GETOWN_EX, ex);
    const b = r.s.read(ex, 8);
    const sig = r.t.call(`fcntl(${fd}, F_GETSIG)`, SYS.fcntl, fd, F_GETSIG);
    out.set(fd, { type: b.readInt32LE(0), pid: b.readInt32LE(4), sig });
  }
  return out;
}

/** Owner and signal back, then O_ASYNC (which starts the signals). */
export function restoreOwner(r: Remote, fd: number, o: FdOwner): void {
  const ex = Buffer.alloc(8);
  ex.writeInt32LE(o.type, 0);
  ex.writeInt32LE(o.pid, 4);
  r.t.call(`fcntl(${fd}, F_SETOWN_EX)`, SYS.fcntl, fd, F_SETOWN_EX, r.s.put(ex));
  r.t.call(`fcntl(${fd}, F_SETSIG)`, SYS.fcntl, fd, F_SETSIG, o.sig);
  const fl = r.t.call('fcntl(F_GETFL)', SYS.fcntl, fd, F.GETFL);
  r.t.call('fcntl(F_SETFL, O_ASYNC)', SYS.fcntl, fd, F.SETFL, fl | O_ASYNC);
}
