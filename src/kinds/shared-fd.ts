// An fd that shares its open file description with an fd of another process
// of the tree (inherited across fork: a log both write, a listening socket a
// pre-fork server's workers accept on, the end of a pipe). The dump finds the
// pair with kcmp(); restore gives the later process a copy of the earlier
// one's fd with pidfd_getfd(), so both keep one offset and one set of flags.
import * as v from 'valibot';
import type { FdKind } from './types.js';

const State = v.object({
  pid: v.pipe(v.number(), v.integer(), v.minValue(1)),
  fd: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
type State = v.InferOutput<typeof State>;

export const sharedFd: FdKind<State> = {
  tag: 'shared',
  schema: State,
  detect: () => false, // decided by the dump from kcmp(), not from /proc facts
  dump: () => { throw new Error('shared records are made by the dump'); },
  restore: (s, ctx) => ctx.grab(s.pid, s.fd),
  describe: (s) => `same open file as fd ${s.fd} of process ${s.pid}`,
};
