// Open directories (opendir, O_PATH or O_DIRECTORY fds): reopened by path.
import * as v from 'valibot';
import { openInTarget, seekInTarget } from './open-file.js';
import { currentIdentity } from './file-identity.js';
import type { FdKind } from './types.js';

const State = v.object({ path: v.string(), flags: v.pipe(v.number(), v.integer()), pos: v.pipe(v.number(), v.integer(), v.minValue(0)) });
type State = v.InferOutput<typeof State>;

export const directory: FdKind<State> = {
  tag: 'dir',
  schema: State,
  detect: (f) => f.stat.isDirectory(),
  dump: (f) => ({ path: f.link, flags: f.info.flags, pos: f.info.pos }),
  check: (s, fd) => void currentIdentity(s.path, `directory open as fd ${fd},`),
  restore(s, ctx) {
    const fd = openInTarget(ctx, s.path, s.flags);
    // getdents positions are opaque cookies; a directory being read restarts where the filesystem allows.
    if (s.pos) try { seekInTarget(ctx, fd, s.pos); } catch { /* O_PATH fds cannot seek */ }
    return fd;
  },
  describe: (s) => `directory ${s.path}`,
};
