// signalfd: the set of signals it reads, and its flags.
import * as v from 'valibot';
import { SYS, O } from '../sys/index.js';
import type { FdKind } from './types.js';

const State = v.object({ mask: v.pipe(v.string(), v.regex(/^[0-9a-f]{1,16}$/)), flags: v.pipe(v.number(), v.integer()) });
type State = v.InferOutput<typeof State>;

export const signalfd: FdKind<State> = {
  tag: 'signalfd',
  schema: State,
  detect: (f) => f.link === 'anon_inode:[signalfd]',
  dump: (f) => ({ mask: BigInt('0x' + (f.info.extra.get('sigmask') ?? '0')).toString(16), flags: f.info.flags }),
  restore(s, ctx) {
    const m = Buffer.alloc(8);
    m.writeBigUInt64LE(BigInt('0x' + s.mask), 0);
    return ctx.tracee.call('signalfd4', SYS.signalfd4, -1, ctx.scratch.put(m), 8, s.flags & (O.NONBLOCK | O.CLOEXEC));
  },
  describe: (s) => `signalfd for mask 0x${s.mask}`,
};
