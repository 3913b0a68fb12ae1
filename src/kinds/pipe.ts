// Pipes with both ends in the process, with the data in flight. Dump copies
// the buffered bytes with tee(2), leaving them in place. Restore makes one
// pipe for both ends (the first end restored creates it, the other end waits
// in ctx.shared) and writes the data back into it.
import * as v from 'valibot';
import { openSync, closeSync, writeSync, constants as C } from 'node:fs';
import { DataRef } from '../image/format.js';
import { SYS, O, syscallRaw } from '../sys/index.js';
import { peekPipe } from './fifo.js';
import type { FdKind, FdFacts } from './types.js';

const F_GETPIPE_SZ = 1032;
const F_SETPIPE_SZ = 1031;

const State = v.object({
  ino: v.pipe(v.number(), v.integer()),
  end: v.picklist(['read', 'write']),
  flags: v.pipe(v.number(), v.integer()),
  size: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** Saved with the read end only. */
  data: v.nullable(DataRef),
});
type State = v.InferOutput<typeof State>;

const inoOf = (link: string) => Number(/^pipe:\[(\d+)\]$/.exec(link)?.[1] ?? -1);
const isRead = (f: FdFacts) => (f.info.flags & O.ACCMODE) === O.RDONLY;

export const pipe: FdKind<State> = {
  tag: 'pipe',
  schema: State,
  // Both ends held by the process; a pipe to another process is not this kind.
  detect: (f) =>
    f.link.startsWith('pipe:') && f.peers.some((p) => p.link === f.link && isRead(p)) && f.peers.some((p) => p.link === f.link && !isRead(p)),
  dump(f, ctx) {
    const read = isRead(f);
    const mine = openSync(`/proc/${f.pid}/fd/${f.fd}`, C.O_RDONLY | C.O_NONBLOCK);
    try {
      const size = syscallRaw(SYS.fcntl, mine, F_GETPIPE_SZ);
      return { ino: inoOf(f.link), end: read ? 'read' : 'write', flags: f.info.flags, size: size > 0 ? size : 65536, data: read ? ctx.writer.writeBlob(peekPipe(mine)) : null };
    } finally {
      closeSync(mine);
    }
  },
  restore(s, ctx) {
    const key = `pipe:${s.ino}`;
    let ends = ctx.shared.get(key);
    if (!ends) {
      const t = ctx.tracee;
      const at = ctx.scratch.alloc(8);
      t.call('pipe2', SYS.pipe2, at, O.CLOEXEC);
      const b = ctx.scratch.read(at, 8);
      ends = [ctx.park(b.readInt32LE(0)), ctx.park(b.readInt32LE(4))];
      ctx.shared.set(key, ends);
      if (s.size !== 65536) t.syscall(SYS.fcntl, ends[0], F_SETPIPE_SZ, s.size);
    }
    const [r, w] = ends;
    if (s.data && s.data.size > 0) {
      // ckpt writes the bytes in flight through its own fd on the target's write end.
      const data = ctx.image.readBlob(s.data);
      const mine = openSync(`/proc/${ctx.tracee.pid}/fd/${w}`, C.O_WRONLY | C.O_NONBLOCK);
      try { writeSync(mine, data); } finally { closeSync(mine); }
    }
    const fd = s.end === 'read' ? r : w;
    ctx.tracee.call('fcntl(F_SETFL)', SYS.fcntl, fd, 4 /* F_SETFL */, s.flags & (O.NONBLOCK | O.APPEND | O.DIRECT));
    return fd;
  },
  describe: (s) => `pipe ${s.ino}, ${s.end} end${s.data ? `, ${s.data.size} bytes in flight` : ''}`,
};
