// Regular files open by path: reopened with the same access mode, status
// flags and offset. A file open for writing may have grown (a log): that is
// allowed and reported; a vanished file or one shorter than the offset is not.
import { z } from 'zod';
import { CkptError } from '../errors.js';
import { O } from '../sys/index.js';
import { identityOf, currentIdentity } from './file-identity.js';
import { statSync } from 'node:fs';
import { openInTarget, seekInTarget, accessMode } from './open-file.js';
import { FileIdentity } from '../image/format.js';
import type { FdKind } from './types.js';

const State = z.object({ file: FileIdentity, flags: z.number().int(), pos: z.number().int().nonnegative() });
type State = z.infer<typeof State>;

export const regularFile: FdKind<State> = {
  tag: 'file',
  schema: State,
  detect: (f) => f.stat.isFile() && f.link.startsWith('/') && !f.link.endsWith(' (deleted)'),
  dump(f) {
    const st = statSync(`/proc/${f.pid}/fd/${f.fd}`, { bigint: true });
    return { file: identityOf(f.link, st), flags: f.info.flags, pos: f.info.pos };
  },
  check(s, fd, ctx) {
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
    const fd = openInTarget(ctx, s.file.path, s.flags);
    seekInTarget(ctx, fd, s.pos);
    return fd;
  },
  describe: (s) => `file ${s.file.path} (${accessMode(s.flags)}${s.flags & O.APPEND ? ', append' : ''}) at offset ${s.pos}`,
};
