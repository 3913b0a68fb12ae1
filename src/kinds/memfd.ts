// memfd (memfd_create): its name, content, size, seals, offset and flags.
// Content is saved like a deleted file's; restore creates a new memfd with
// the same name, fills it, and applies the seals last.
import * as v from 'valibot';
import { openSync, closeSync, fstatSync, writeSync, constants as C } from 'node:fs';
import { DataRef } from '../image/format.js';
import { CkptError } from '../errors.js';
import { SYS, O, syscallRaw, close } from '../sys/index.js';
import { grabFd } from '../sys/socket.js';
import { openInTarget, seekInTarget, accessMode } from './open-file.js';
import type { FdKind } from './types.js';

const F_ADD_SEALS = 1033;
const F_GET_SEALS = 1034;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const NR_memfd_create = 319;

const State = v.object({
  name: v.string(), flags: v.pipe(v.number(), v.integer()), pos: v.pipe(v.number(), v.integer(), v.minValue(0)), seals: v.pipe(v.number(), v.integer()), mode: v.pipe(v.number(), v.integer()),
  /** The content, saved with the first fd of the memfd only (2.0: null for the others). */
  data: v.nullable(DataRef),
  /** Which memfd (2.0): fds of one memfd opened apart (another access mode) share it again. */
  ino: v.optional(v.number()),
});
type State = v.InferOutput<typeof State>;

const PREFIX = '/memfd:';
const SUFFIX = ' (deleted)';

export const memfd: FdKind<State> = {
  tag: 'memfd',
  schema: State,
  detect: (f) => f.stat.isFile() && f.link.startsWith(PREFIX) && f.link.endsWith(SUFFIX),
  dump(f, ctx) {
    const key = `memfd:${f.stat.dev}:${f.stat.ino}`;
    if (ctx.saved.has(key)) {
      return { name: f.link.slice(PREFIX.length, -SUFFIX.length), flags: f.info.flags, pos: f.info.pos, seals: -1, mode: f.stat.mode & 0o7777, data: null, ino: f.stat.ino };
    }
    ctx.saved.add(key);
    const mine = grabFd(f.pid, f.fd);
    try {
      const seals = syscallRaw(SYS.fcntl, mine, F_GET_SEALS);
      const src = openSync(`/proc/${f.pid}/fd/${f.fd}`, C.O_RDONLY);
      try {
        const data = ctx.writer.writeFromFd(src, fstatSync(src).size);
        return { name: f.link.slice(PREFIX.length, -SUFFIX.length), flags: f.info.flags, pos: f.info.pos, seals: seals < 0 ? -1 : seals, mode: f.stat.mode & 0o7777, data, ino: f.stat.ino };
      } finally {
        closeSync(src);
      }
    } finally {
      close(mine);
    }
  },
  restore(s, ctx) {
    const t = ctx.tracee;
    const key = s.ino !== undefined ? `memfd:${s.ino}` : '';
    const made = key ? ctx.objects.get(key) : undefined;
    if (made || !s.data) {
      if (!made) throw new CkptError('IMAGE_CORRUPT', `memfd "${s.name}" has no content and no earlier fd`);
      // Another fd of a memfd already made: opened again through ckpt's copy, in its own mode.
      const fd = openInTarget(ctx, `/proc/${process.pid}/fd/${made[0]}`, s.flags);
      seekInTarget(ctx, fd, s.pos);
      return fd;
    }
    // A memfd made without MFD_ALLOW_SEALING reports exactly F_SEAL_SEAL (1).
    const sealing = s.seals === 1 || s.seals < 0 ? 0 : MFD_ALLOW_SEALING;
    const fd = t.call('memfd_create', NR_memfd_create, ctx.scratch.str(s.name), (s.flags & O.CLOEXEC ? MFD_CLOEXEC : 0) | sealing);
    // ckpt fills it through its own fd on the new memfd.
    const content = ctx.image.readBlob(s.data);
    const mine = openSync(`/proc/${t.pid}/fd/${fd}`, C.O_WRONLY);
    try {
      let done = 0;
      while (done < content.length) done += writeSync(mine, content, done, content.length - done, done);
    } finally {
      closeSync(mine);
    }
    seekInTarget(ctx, fd, s.pos);
    t.call('fchmod', SYS.fchmod, fd, s.mode & 0o7777); // memfd_create makes it 0777
    if (s.flags & (O.APPEND | O.NONBLOCK)) t.call('fcntl(F_SETFL)', SYS.fcntl, fd, 4, s.flags & (O.APPEND | O.NONBLOCK));
    if (sealing && s.seals > 0) t.call('fcntl(F_ADD_SEALS)', SYS.fcntl, fd, F_ADD_SEALS, s.seals);
    if (key) ctx.objects.set(key, [ctx.take(fd)]);
    if ((s.flags & O.ACCMODE) !== O.RDWR) {
      // memfd_create gives a read-write fd: one in the saved mode, through /proc.
      const narrow = openInTarget(ctx, `/proc/${process.pid}/fd/${ctx.objects.get(key)?.[0] ?? ctx.take(fd)}`, s.flags);
      t.call('close', SYS.close, fd);
      seekInTarget(ctx, narrow, s.pos);
      return narrow;
    }
    return fd;
  },
  describe: (s) => `memfd "${s.name}" (${accessMode(s.flags)}, ${s.data ? `${s.data.size} bytes saved` : 'shared with an earlier fd'}${s.seals > 0 ? `, seals 0x${s.seals.toString(16)}` : ''}) at offset ${s.pos}`,
};
