// Anonymous pipes, with the data in flight. Dump copies the buffered bytes
// with tee(2), leaving them in place, once per pipe however many fds of the
// tree hold it. Restore: the first holder creates the pipe and ckpt keeps a
// copy of both ends, from which later holders (other fds, other processes)
// get theirs. A pipe whose other direction is held outside the tree (a pipe
// inherited from a CI runner or supervisor) is "external": it comes back
// connected when ckpt restore itself holds the very same pipe; otherwise its
// peer is gone (reads see EOF after the saved bytes, writes get EPIPE).
// stdin/stdout/stderr on a pipe to outside are not this kind: they are
// connected to ckpt restore's own (inherited-stdio.ts).
import * as v from 'valibot';
import { openSync, closeSync, writeSync, readdirSync, readlinkSync, readFileSync, constants as C } from 'node:fs';
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
  /** The bytes in flight, saved with the first fd of the pipe only. */
  data: v.nullable(DataRef),
  /** The other direction is held outside the tree (format 2.0). */
  external: v.optional(v.boolean(), false),
});
type State = v.InferOutput<typeof State>;

const inoOf = (link: string) => Number(/^pipe:\[(\d+)\]$/.exec(link)?.[1] ?? -1);
const isRead = (f: FdFacts) => (f.info.flags & O.ACCMODE) === O.RDONLY;

/** Both directions held inside the tree. */
export const pipeIsInternal = (f: FdFacts) =>
  f.tree.some((p) => p.link === f.link && isRead(p)) && f.tree.some((p) => p.link === f.link && !isRead(p));

/** ckpt restore's own fd on this very pipe end, if it holds one (restored under the same supervisor). */
function ownEnd(ino: number, end: 'read' | 'write'): number | undefined {
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) !== `pipe:[${ino}]`) continue;
      const flags = parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${name}`, 'utf8'))?.[1] ?? '0', 8);
      if (((flags & O.ACCMODE) === O.RDONLY) === (end === 'read')) return Number(name);
    } catch { /* closed meanwhile */ }
  }
  return undefined;
}

export const pipe: FdKind<State> = {
  tag: 'pipe',
  schema: State,
  detect: (f) => f.link.startsWith('pipe:') && (f.fd > 2 || pipeIsInternal(f)),
  dump(f, ctx) {
    const read = isRead(f);
    const external = !pipeIsInternal(f);
    const key = `pipe:${inoOf(f.link)}`;
    const first = !ctx.saved.has(key);
    ctx.saved.add(key);
    const mine = openSync(`/proc/${f.pid}/fd/${f.fd}`, C.O_RDONLY | C.O_NONBLOCK);
    try {
      const size = syscallRaw(SYS.fcntl, mine, F_GETPIPE_SZ);
      const data = first ? peekPipe(mine) : Buffer.alloc(0);
      if (external) {
        ctx.notices.push(`process ${f.pid} fd ${f.fd}: a pipe ${read ? 'from' : 'to'} a process outside the tree; restored with that process gone ` +
          `(${read ? `reads see end-of-file${data.length ? ` after the ${data.length} bytes saved` : ''}` : 'writes fail with EPIPE'}) unless ckpt restore holds the same pipe or is given --fd ${f.fd}=...`);
      }
      return { ino: inoOf(f.link), end: read ? 'read' : 'write', flags: f.info.flags, size: size > 0 ? size : 65536, data: first ? ctx.writer.writeBlob(data) : null, external };
    } finally {
      closeSync(mine);
    }
  },
  restore(s, ctx) {
    const key = `pipe:${s.ino}`;
    const t = ctx.tracee;
    let ends = ctx.objects.get(key);
    let fd: number;
    if (ends) {
      fd = ctx.give(ends[s.end === 'read' ? 0 : 1]);
    } else {
      const own = s.external ? ownEnd(s.ino, s.end) : undefined;
      if (own !== undefined) {
        // The same kernel pipe, still alive: connected as it was, its bytes still in it.
        ctx.notices.push(`pipe:[${s.ino}] (${s.end} end) is connected again: ckpt restore holds the same pipe`);
        return ctx.give(own);
      }
      const at = ctx.scratch.alloc(8);
      t.call('pipe2', SYS.pipe2, at, O.CLOEXEC);
      const b = ctx.scratch.read(at, 8);
      const [r, w] = [b.readInt32LE(0), b.readInt32LE(4)];
      if (s.size !== 65536) t.syscall(SYS.fcntl, r, F_SETPIPE_SZ, s.size);
      ends = [ctx.take(r), ctx.take(w)];
      ctx.objects.set(key, ends);
      fd = s.end === 'read' ? r : w;
      t.call('close', SYS.close, s.end === 'read' ? w : r);
      if (s.external) {
        ctx.notices.push(`pipe:[${s.ino}] (${s.end} end): its peer outside the tree is gone (${s.end === 'read' ? 'reads see end-of-file' : 'writes fail with EPIPE'}); --fd plugs something in instead`);
      }
    }
    if (s.data && s.data.size > 0) {
      // The bytes in flight go back through ckpt's copy of the write end.
      const data = ctx.image.readBlob(s.data);
      let done = 0;
      while (done < data.length) done += writeSync(ends[1], data, done, data.length - done);
    }
    t.call('fcntl(F_SETFL)', SYS.fcntl, fd, 4 /* F_SETFL */, s.flags & (O.NONBLOCK | O.APPEND | O.DIRECT));
    return fd;
  },
  describe: (s) => `pipe ${s.ino}, ${s.end} end${s.data?.size ? `, ${s.data.size} bytes in flight` : ''}${s.external ? ', other end outside the tree' : ''}`,
};
