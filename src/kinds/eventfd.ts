// eventfd: a 64-bit counter and its flags (semaphore mode, non-blocking).
import * as v from 'valibot';
import { SYS, O } from '../sys/index.js';
import type { FdKind } from './types.js';

const EFD_SEMAPHORE = 1;
const State = v.object({ count: v.string(), flags: v.pipe(v.number(), v.integer()), semaphore: v.boolean() });
type State = v.InferOutput<typeof State>;

export const eventfd: FdKind<State> = {
  tag: 'eventfd',
  schema: State,
  detect: (f) => f.link === 'anon_inode:[eventfd]',
  dump: (f) => ({
    count: BigInt(`0x${f.info.extra.get('eventfd-count')?.trim() || '0'}`).toString(), // fdinfo prints it in hex
    flags: f.info.flags,
    semaphore: f.info.extra.get('eventfd-semaphore') === '1',
  }),
  restore(s, ctx) {
    const flags = (s.flags & (O.NONBLOCK | O.CLOEXEC)) | (s.semaphore ? EFD_SEMAPHORE : 0);
    const fd = ctx.tracee.call('eventfd2', SYS.eventfd2, 0, flags);
    const count = BigInt(s.count);
    if (count > 0n) {
      // The counter is 64 bits, eventfd2's initial value only 32: write it instead.
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(count, 0);
      ctx.tracee.call('write (eventfd counter)', SYS.write, fd, ctx.scratch.put(b), 8);
    }
    return fd;
  },
  describe: (s) => `eventfd, counter ${s.count}${s.semaphore ? ', semaphore' : ''}${s.flags & O.NONBLOCK ? ', non-blocking' : ''}`,
};
