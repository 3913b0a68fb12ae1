// Regular files open by path: reopened with the same access mode, status
// flags and offset. A file open for writing may have grown (a log): that is
// allowed and reported; one shorter than the offset is not. A small file
// open for writing (a lock, pid or swap file the program deletes when it
// quits) has its content saved too: if it has vanished by restore, it is
// recreated from the checkpoint, and the restore says so. Any other
// vanished file is an error naming it.
import * as v from 'valibot';
import { CkptError } from '../errors.js';
import { O } from '../sys/index.js';
import { identityOf, currentIdentity } from './file-identity.js';
import { statSync, openSync, closeSync, existsSync, writeFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { openInTarget, seekInTarget, accessMode } from './open-file.js';
import { FileIdentity, DataRef, processesOf } from '../image/format.js';
import type { FdKind } from './types.js';

const State = v.object({
  file: FileIdentity,
  flags: v.pipe(v.number(), v.integer()),
  pos: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** Content of a small file open for writing, to recreate it if it vanished (format 1.1). */
  content: v.optional(DataRef),
});
/** Files open for writing up to this size keep a copy of their content. */
const KEEP_CONTENT = 1 << 20;
type State = v.InferOutput<typeof State>;

export const regularFile: FdKind<State> = {
  tag: 'file',
  schema: State,
  detect: (f) => f.stat.isFile() && f.link.startsWith('/') && !f.link.endsWith(' (deleted)'),
  dump(f, ctx) {
    const st = statSync(`/proc/${f.pid}/fd/${f.fd}`, { bigint: true });
    const base = { file: identityOf(f.link, st), flags: f.info.flags, pos: f.info.pos };
    if ((f.info.flags & O.ACCMODE) === O.RDONLY || st.size > BigInt(KEEP_CONTENT)) return base;
    const src = openSync(`/proc/${f.pid}/fd/${f.fd}`, 'r');
    try {
      return { ...base, content: ctx.writer.writeFromFd(src, Number(st.size)) };
    } catch {
      return base; // it changed size meanwhile: no copy, then
    } finally {
      closeSync(src);
    }
  },
  check(s, fd, ctx) {
    // A /proc file of a process of the tree exists only once the tree is rebuilt: opened then, by path.
    const proc = /^\/proc\/(\d+)(\/|$)/.exec(s.file.path);
    if (proc && processesOf(ctx.image.meta).some((p) => p.process.pid === Number(proc[1]))) return;
    if (s.content && !existsSync(s.file.path) && existsSync(dirname(s.file.path))) {
      ctx.notices.push(`fd ${fd}: ${s.file.path} had vanished; recreated from the checkpoint (${s.content.size} bytes)`);
      return;
    }
    const now = currentIdentity(s.file.path, `file open as fd ${fd},`);
    const writable = (s.flags & O.ACCMODE) !== O.RDONLY;
    if (now.size < s.pos && !(s.flags & O.APPEND)) {
      throw new CkptError('FILE_CHANGED', `file ${s.file.path} (fd ${fd}) is now ${now.size} bytes, shorter than the saved offset ${s.pos}`, { path: s.file.path, fd });
    }
    if (now.dev !== s.file.dev || now.ino !== s.file.ino) {
      ctx.notices.push(`fd ${fd}: ${s.file.path} was replaced by another file since the checkpoint; reopened by path`);
    } else if (writable && now.size > s.file.size) {
      ctx.notices.push(`fd ${fd}: ${s.file.path} grew from ${s.file.size} to ${now.size} bytes since the checkpoint; reopened at ${s.flags & O.APPEND ? 'its end (O_APPEND)' : `offset ${s.pos}`}`);
    } else if (now.size !== s.file.size || now.mtimeNs !== s.file.mtimeNs) {
      ctx.notices.push(`fd ${fd}: ${s.file.path} was modified since the checkpoint`);
    }
  },
  restore(s, ctx) {
    if (s.content && !existsSync(s.file.path)) {
      const data = ctx.image.readBlob(s.content);
      writeFileSync(s.file.path, data, { mode: s.file.mode & 0o7777, flag: 'wx' });
      ctx.onFailure.push(() => { try { unlinkSync(s.file.path); } catch { /* gone */ } });
    }
    const fd = openInTarget(ctx, s.file.path, s.flags);
    seekInTarget(ctx, fd, s.pos);
    return fd;
  },
  describe: (s) => `file ${s.file.path} (${accessMode(s.flags)}${s.flags & O.APPEND ? ', append' : ''}) at offset ${s.pos}`,
};
