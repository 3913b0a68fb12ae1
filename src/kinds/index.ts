// The registry of file-descriptor kinds: adding a kind is one file plus one
// line here. Order matters only where detections overlap (first match wins).
import { regularFile } from './regular-file.js';
import { deletedFile } from './deleted-file.js';
import { directory } from './directory.js';
import { charDevice, isPtyMaster } from './char-device.js';
import { fifo } from './fifo.js';
import { inheritedStdio } from './inherited-stdio.js';
import { dupFd } from './dup.js';
import { sharedFd } from './shared-fd.js';
import { pipe } from './pipe.js';
import { eventfd } from './eventfd.js';
import { epoll } from './epoll.js';
import { timerfd } from './timerfd.js';
import { signalfd } from './signalfd.js';
import { inetSocket, socketFamily } from './inet-socket.js';
import { memfd } from './memfd.js';
import { inotify } from './inotify.js';
import { unixSocket } from './unix-socket.js';
import type { FdFacts, FdKind } from './types.js';

export const FD_KINDS: readonly FdKind<any>[] = [
  pipe, inheritedStdio, inetSocket, unixSocket, memfd, deletedFile, regularFile, directory, charDevice, fifo, eventfd, epoll, timerfd, signalfd, inotify, dupFd, sharedFd,
];

export function kindByTag(tag: string): FdKind<any> | undefined {
  return FD_KINDS.find((k) => k.tag === tag);
}

export function detectKind(f: FdFacts): FdKind<any> | undefined {
  return FD_KINDS.find((k) => k.detect(f));
}

/** Why an fd cannot be checkpointed yet, in words a user understands. */
export function unsupportedReason(f: FdFacts): string {
  const l = f.link;
  if (l.startsWith('socket:')) {
    const names: Record<number, string> = { 1: 'unix', 16: 'netlink', 17: 'packet', 40: 'vsock' };
    const fam = socketFamily(f);
    return `a ${fam !== undefined ? names[fam] ?? `family-${fam}` : ''} socket (not supported yet)`.replace('a  ', 'a ');
  }
  if (l.startsWith('anon_inode:')) {
    const what = l.slice('anon_inode:'.length).replace(/^\[|\]$/g, '');
    const hint = what === 'io_uring' ? ' (for Node.js, UV_USE_IO_URING=0 avoids it)' : '';
    return `${what === 'inotify' ? 'an inotify' : `a ${what}`} descriptor (not supported yet)${hint}`;
  }
  if (f.stat.isCharacterDevice() && isPtyMaster(f.stat.rdev)) return 'the master side of a pseudo-terminal (/dev/ptmx; not supported yet)';
  if (f.stat.isCharacterDevice()) {
    const dev = `${Math.floor(f.stat.rdev / 256) & 0xfff}:${f.stat.rdev & 0xff}`;
    return `character device ${l} (${dev}) (not supported yet)`;
  }
  if (f.stat.isBlockDevice()) return `block device ${l} (not supported)`;
  return `${l} (an unknown kind of file)`;
}

export type { FdKind, FdFacts } from './types.js';
