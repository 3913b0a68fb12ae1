// Files deleted while open: their content is saved in the image. Restore
// recreates them as a "ghost" (at the old path, or beside it when that name
// is taken), opens it in the target and unlinks it again.
import * as v from 'valibot';
import { openSync, closeSync, writeSync, unlinkSync, existsSync, fchmodSync, fchownSync, fstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { CkptError } from '../errors.js';
import { DataRef } from '../image/format.js';
import { openInTarget, seekInTarget, accessMode } from './open-file.js';
import type { FdKind } from './types.js';

const State = v.object({
  path: v.string(), flags: v.pipe(v.number(), v.integer()), pos: v.pipe(v.number(), v.integer(), v.minValue(0)), mode: v.pipe(v.number(), v.integer()), data: v.nullable(DataRef),
  /** Its owner (2.0; the file is recreated with it). */
  uid: v.optional(v.pipe(v.number(), v.integer())),
  gid: v.optional(v.pipe(v.number(), v.integer())),
  /** Which file (2.0): fds of one deleted file opened apart share it again; its content is saved with the first. */
  key: v.optional(v.string()),
});
type State = v.InferOutput<typeof State>;

const SUFFIX = ' (deleted)';

export const deletedFile: FdKind<State> = {
  tag: 'deleted-file',
  schema: State,
  detect: (f) => f.stat.isFile() && f.link.startsWith('/') && f.link.endsWith(SUFFIX) && f.stat.nlink === 0,
  dump(f, ctx) {
    const key = `deleted:${f.stat.dev}:${f.stat.ino}`;
    const base = { path: f.link.slice(0, -SUFFIX.length), flags: f.info.flags, pos: f.info.pos, mode: f.stat.mode & 0o7777, uid: f.stat.uid, gid: f.stat.gid, key };
    if (ctx.saved.has(key)) return { ...base, data: null };
    ctx.saved.add(key);
    const src = openSync(`/proc/${f.pid}/fd/${f.fd}`, 'r');
    try {
      const size = fstatSync(src).size;
      const data = ctx.writer.writeFromFd(src, size);
      return { ...base, data };
    } finally {
      closeSync(src);
    }
  },
  check(s, fd) {
    if (!existsSync(dirname(s.path))) {
      throw new CkptError('FILE_CHANGED', `directory ${dirname(s.path)} of the deleted file open as fd ${fd} is missing`, { path: s.path, fd });
    }
  },
  restore(s, ctx) {
    const made = s.key ? ctx.objects.get(s.key) : undefined;
    if (made || !s.data) {
      if (!made) throw new CkptError('IMAGE_CORRUPT', `deleted file ${s.path} has no content and no earlier fd`);
      // Another fd of a file already made again: opened through ckpt's copy, in its own mode.
      const again = openInTarget(ctx, `/proc/${process.pid}/fd/${made[0]}`, s.flags);
      seekInTarget(ctx, again, s.pos);
      return again;
    }
    const content = ctx.image.readBlob(s.data);
    const ghost = existsSync(s.path) ? `${s.path}.ckpt-ghost-${randomBytes(4).toString('hex')}` : s.path;
    const local = openSync(ghost, 'wx', 0o600);
    let removed = false;
    const remove = () => {
      if (!removed) try { unlinkSync(ghost); } catch { /* gone */ }
      removed = true;
    };
    ctx.onFailure.push(remove);
    try {
      let done = 0;
      while (done < content.length) done += writeSync(local, content, done, content.length - done);
      if (s.uid !== undefined && s.gid !== undefined) fchownSync(local, s.uid, s.gid);
      fchmodSync(local, s.mode); // after chown, which may clear set-id bits
    } finally {
      closeSync(local);
    }
    const fd = openInTarget(ctx, ghost, s.flags);
    if (s.key) ctx.objects.set(s.key, [ctx.take(fd)]);
    remove();
    seekInTarget(ctx, fd, s.pos);
    return fd;
  },
  describe: (s) => `deleted file ${s.path} (${accessMode(s.flags)}, ${s.data ? `${s.data.size} bytes saved` : 'the same file as an earlier fd'}) at offset ${s.pos}`,
};
