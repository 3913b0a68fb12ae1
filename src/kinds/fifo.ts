// Named pipes (FIFOs opened by path), with the data in flight. Dump copies
// the buffered bytes with tee(2), which leaves them in the pipe. Restore holds
// the FIFO open itself (so the target's open never blocks) and refills it
// when it is empty: if another process kept the FIFO open meanwhile, the
// bytes are still there and are not duplicated.
import * as v from 'valibot';
import { openSync, closeSync, readSync, writeSync, statSync, constants as C } from 'node:fs';
import { CkptError } from '../errors.js';
import { DataRef } from '../image/format.js';
import { pipe2, tee, close, O, SYS, addr, syscallRaw } from '../sys/index.js';
import { openInTarget, accessMode } from './open-file.js';
import type { FdKind } from './types.js';

const FIONREAD = 0x541b;
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const SPLICE_F_NONBLOCK = 2;

const State = v.object({ path: v.string(), flags: v.pipe(v.number(), v.integer()), data: DataRef });
type State = v.InferOutput<typeof State>;

function bytesInPipe(fd: number): number {
  const b = Buffer.alloc(4);
  const r = syscallRaw(SYS.ioctl, fd, FIONREAD, addr(b));
  return r < 0 ? 0 : b.readInt32LE(0);
}

/** Copy (without consuming) what is buffered in the pipe open as `fd`. */
export function peekPipe(fd: number): Buffer {
  const n = bytesInPipe(fd);
  if (n === 0) return Buffer.alloc(0);
  const [r, w] = pipe2(O.CLOEXEC | O.NONBLOCK);
  try {
    // tee() needs a slot in our pipe for every buffer of theirs, however few bytes each
    // holds: as many slots as they have (their size), not as many bytes as are queued.
    const theirs = syscallRaw(SYS.fcntl, fd, F_GETPIPE_SZ);
    syscallRaw(SYS.fcntl, w, F_SETPIPE_SZ, Math.max(n, theirs > 0 ? theirs : 65536, 4096));
    const got = tee(fd, w, n, SPLICE_F_NONBLOCK);
    if (got !== n) throw new CkptError('INTERNAL', `could copy only ${got} of the ${n} bytes in flight in a pipe`, { hint: 'nothing was written; the process keeps running' });
    const out = Buffer.alloc(got);
    let done = 0;
    while (done < got) done += readSync(r, out, done, got - done, null);
    return out;
  } finally {
    close(r);
    close(w);
  }
}

export const fifo: FdKind<State> = {
  tag: 'fifo',
  schema: State,
  detect: (f) => f.stat.isFIFO() && f.link.startsWith('/'),
  dump(f, ctx) {
    const mine = openSync(`/proc/${f.pid}/fd/${f.fd}`, C.O_RDWR | C.O_NONBLOCK);
    try {
      return { path: f.link, flags: f.info.flags, data: ctx.writer.writeBlob(peekPipe(mine)) };
    } finally {
      closeSync(mine);
    }
  },
  check(s, fd) {
    let ok = false;
    try { ok = statSync(s.path).isFIFO(); } catch { /* missing */ }
    if (!ok) throw new CkptError('FILE_CHANGED', `FIFO ${s.path} (fd ${fd}) is missing or no longer a FIFO`, { path: s.path, fd, hint: `recreate it with mkfifo ${s.path}` });
  },
  restore(s, ctx) {
    const mine = openSync(s.path, C.O_RDWR | C.O_NONBLOCK);
    let closed = false;
    const release = () => { if (!closed) closeSync(mine); closed = true; };
    ctx.onFailure.push(release);
    ctx.onSuccess.push(release);
    if (s.data.size > 0 && bytesInPipe(mine) === 0) {
      const data = ctx.image.readBlob(s.data);
      writeSync(mine, data);
    }
    return openInTarget(ctx, s.path, s.flags);
  },
  describe: (s) => `FIFO ${s.path} (${accessMode(s.flags)}), ${s.data.size} bytes in flight`,
};
