// stdin/stdout/stderr connected to a terminal, or to a pipe or socket that
// leads outside the process (a shell pipeline, a supervisor): on restore they
// are connected to ckpt restore's own stdin/stdout/stderr, as a shell job's are.
// Any other fd on a terminal (a program that opened /dev/tty) gets the
// terminal ckpt restore has, through its stdin.
import * as v from 'valibot';
import { F, SYS, close } from '../sys/index.js';
import { grabFd } from '../sys/socket.js';
import { getTermios } from '../sys/pty.js';
import { isTerminal } from './char-device.js';
import type { FdKind } from './types.js';

const State = v.object({
  was: v.string(),
  flags: v.pipe(v.number(), v.integer()),
  /** A terminal's modes (kernel termios, base64), for a restore into a terminal. */
  termios: v.optional(v.string()),
});
type State = v.InferOutput<typeof State>;

export const inheritedStdio: FdKind<State> = {
  tag: 'inherit',
  schema: State,
  detect: (f) =>
    (f.stat.isCharacterDevice() && isTerminal(f.stat.rdev)) || (f.fd <= 2 && (f.link.startsWith('pipe:') || f.link.startsWith('socket:'))),
  dump(f) {
    if (!(f.stat.isCharacterDevice() && isTerminal(f.stat.rdev))) return { was: f.link, flags: f.info.flags };
    const mine = grabFd(f.pid, f.fd);
    try {
      return { was: f.link, flags: f.info.flags, termios: getTermios(mine)?.toString('base64') };
    } finally {
      close(mine);
    }
  },
  restore: (_s, ctx, fd) => ctx.tracee.call('fcntl(F_DUPFD)', SYS.fcntl, ctx.inheritedFd(fd <= 2 ? fd : 0), F.DUPFD, 0),
  describe: (s) => `ckpt's own stdio (was ${s.was}${s.termios ? ', a terminal' : ''})`,
};
