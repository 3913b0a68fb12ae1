// An fd that shares its open file description with a lower-numbered fd
// (dup, dup2, `2>&1`): restored as a dup of that fd, so both keep sharing
// one offset and one set of status flags.
import * as v from 'valibot';
import { F, SYS } from '../sys/index.js';
import type { FdKind } from './types.js';

const State = v.object({ of: v.pipe(v.number(), v.integer(), v.minValue(0)) });
type State = v.InferOutput<typeof State>;

export const dupFd: FdKind<State> = {
  tag: 'dup',
  schema: State,
  detect: () => false, // decided by the dump from kcmp(), not from /proc facts
  dump: () => { throw new Error('dup records are made by the dump'); },
  restore: (s, ctx) => ctx.tracee.call('fcntl(F_DUPFD)', SYS.fcntl, s.of, F.DUPFD, 0),
  describe: (s) => `same open file as fd ${s.of}`,
};
