// timerfd: clock, time left, interval, flags, and expirations not yet read.
import * as v from 'valibot';
import { SYS, O } from '../sys/index.js';
import type { FdKind } from './types.js';

const TFD_IOC_SET_TICKS = 0x40085400; // _IOW('T', 0, u64), with CONFIG_CHECKPOINT_RESTORE

const State = v.object({ clockId: v.pipe(v.number(), v.integer()), flags: v.pipe(v.number(), v.integer()), valueNs: v.string(), intervalNs: v.string(), ticks: v.string() });
type State = v.InferOutput<typeof State>;

/** "(4, 979536733)" -> nanoseconds */
function pair(v: string | undefined): bigint {
  const m = /\((\d+),\s*(\d+)\)/.exec(v ?? '');
  return m ? BigInt(m[1]) * 1_000_000_000n + BigInt(m[2]) : 0n;
}

export const timerfd: FdKind<State> = {
  tag: 'timerfd',
  schema: State,
  detect: (f) => f.link === 'anon_inode:[timerfd]',
  dump: (f) => ({
    clockId: Number(f.info.extra.get('clockid') ?? 1),
    flags: f.info.flags,
    // it_value is the time left, whatever TFD_TIMER_ABSTIME said when armed.
    valueNs: pair(f.info.extra.get('it_value')).toString(),
    intervalNs: pair(f.info.extra.get('it_interval')).toString(),
    ticks: (f.info.extra.get('ticks') ?? '0').trim(),
  }),
  restore(s, ctx) {
    const t = ctx.tracee;
    const fd = t.call('timerfd_create', SYS.timerfd_create, s.clockId, s.flags & (O.NONBLOCK | O.CLOEXEC));
    const value = BigInt(s.valueNs);
    const interval = BigInt(s.intervalNs);
    if (value > 0n || interval > 0n) {
      const its = Buffer.alloc(32);
      const put = (v: bigint, o: number) => { its.writeBigInt64LE(v / 1_000_000_000n, o); its.writeBigInt64LE(v % 1_000_000_000n, o + 8); };
      put(interval, 0);
      put(value > 0n ? value : 1n, 16);
      t.call('timerfd_settime', SYS.timerfd_settime, fd, 0, ctx.scratch.put(its), 0);
    }
    if (BigInt(s.ticks) > 0n) {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(s.ticks), 0);
      t.call('ioctl(TFD_IOC_SET_TICKS)', SYS.ioctl, fd, TFD_IOC_SET_TICKS, ctx.scratch.put(b));
    }
    return fd;
  },
  describe: (s) => `timerfd (clock ${s.clockId}) due in ${s.valueNs} ns, every ${s.intervalNs} ns, ${s.ticks} expirations unread`,
};
