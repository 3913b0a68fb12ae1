// epoll: the interest list — watched fd, events (EPOLLET, EPOLLONESHOT,
// EPOLLEXCLUSIVE...) and user data. Restored after every other fd, since it
// refers to them by number.
import * as v from 'valibot';
import { CkptError } from '../errors.js';
import { SYS, O } from '../sys/index.js';
import type { FdKind } from './types.js';

const EPOLL_CTL_ADD = 1;
const Watch = v.object({ fd: v.pipe(v.number(), v.integer()), events: v.pipe(v.number(), v.integer()), data: v.pipe(v.string(), v.regex(/^[0-9a-f]{1,16}$/)) });
const State = v.object({ flags: v.pipe(v.number(), v.integer()), watches: v.array(Watch) });
type State = v.InferOutput<typeof State>;

const LINE = /^tfd:\s*(\d+)\s+events:\s*([0-9a-f]+)\s+data:\s*([0-9a-f]+)/;

export const epoll: FdKind<State> = {
  tag: 'epoll',
  schema: State,
  late: true,
  detect: (f) => f.link === 'anon_inode:[eventpoll]',
  dump(f) {
    const watches = f.info.lines
      .map((l) => LINE.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ fd: Number(m[1]), events: parseInt(m[2], 16), data: BigInt('0x' + m[3]).toString(16) }));
    for (const w of watches) {
      if (!f.peers.some((p) => p.fd === w.fd)) {
        throw new CkptError('KIND_UNSUPPORTED', `epoll fd ${f.fd} watches fd ${w.fd}, which is no longer open (not supported)`, { fd: f.fd, kind: 'epoll' });
      }
    }
    return { flags: f.info.flags, watches };
  },
  restore(s, ctx) {
    const t = ctx.tracee;
    const fd = t.call('epoll_create1', SYS.epoll_create1, s.flags & O.CLOEXEC);
    for (const w of s.watches) {
      const ev = Buffer.alloc(12); // struct epoll_event is packed on x86_64
      ev.writeUInt32LE(w.events >>> 0, 0);
      ev.writeBigUInt64LE(BigInt('0x' + w.data), 4);
      t.call(`epoll_ctl(ADD fd ${w.fd})`, SYS.epoll_ctl, fd, EPOLL_CTL_ADD, w.fd, ctx.scratch.put(ev));
    }
    return fd;
  },
  describe: (s) => `epoll watching ${s.watches.map((w) => `fd ${w.fd} (events 0x${w.events.toString(16)})`).join(', ') || 'nothing'}`,
};
