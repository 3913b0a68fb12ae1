// Shared by the kinds that reopen something by path in the target: open
// with the saved access mode and status flags, never O_CREAT or O_TRUNC.
import { O, SYS, AT_FDCWD, F } from '../sys/index.js';
import type { RestoreContext } from './types.js';

/** Status flags that open() takes and a restore must keep. */
const KEPT = O.ACCMODE | O.APPEND | O.NONBLOCK | O.DSYNC | O.ASYNC | O.DIRECT | O.NOATIME | O.LARGEFILE | O.DIRECTORY | O.PATH | 0o4010000; /* O_SYNC */

export function openInTarget(ctx: RestoreContext, path: string, flags: number, extra = 0): number {
  const p = ctx.scratch.str(path);
  const fd = ctx.tracee.call(`open ${path}`, SYS.openat, AT_FDCWD, p, (flags & KEPT) | O.NOCTTY | extra, 0);
  return fd;
}

export function seekInTarget(ctx: RestoreContext, fd: number, pos: number): void {
  ctx.tracee.call('lseek', SYS.lseek, fd, pos, 0);
}

export function setStatusFlags(ctx: RestoreContext, fd: number, flags: number): void {
  ctx.tracee.call('fcntl(F_SETFL)', SYS.fcntl, fd, F.SETFL, flags & (O.APPEND | O.NONBLOCK | O.ASYNC | O.DIRECT | O.NOATIME));
}

export function accessMode(flags: number): string {
  return ['r', 'w', 'rw', '?'][flags & O.ACCMODE];
}
