// inotify: its watches (path, mask) with their watch descriptors. The kernel
// shows each watch as an inode and a file handle; ckpt turns the handle back
// into a path at dump time (open_by_handle_at). Restore adds the watches in
// order, burning numbers where the program had removed watches, so every
// watch keeps its wd. Events queued but not yet read are not kept.
import * as v from 'valibot';
import { readFileSync, readlinkSync, openSync, closeSync, statSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { O, SYS, addr, syscallRaw, close } from '../sys/index.js';
import type { FdKind } from './types.js';

const NR = { inotify_init1: 294, inotify_add_watch: 254, inotify_rm_watch: 255, open_by_handle_at: 304 } as const;
const LINE = /^inotify wd:(\d+) ino:([0-9a-f]+) sdev:([0-9a-f]+) mask:([0-9a-f]+) ignored_mask:[0-9a-f]+ fhandle-bytes:([0-9a-f]+) fhandle-type:([0-9a-f]+) f_handle:([0-9a-f]+)/;

const Watch = v.object({ wd: v.pipe(v.number(), v.integer(), v.minValue(1)), path: v.string(), mask: v.pipe(v.number(), v.integer()), ino: v.pipe(v.number(), v.integer()) });
const State = v.object({ flags: v.pipe(v.number(), v.integer()), watches: v.array(Watch) });
type State = v.InferOutput<typeof State>;

/** The mount point (in ckpt's view) of device `maj:min`, from the target's mountinfo. */
function mountOf(pid: number, dev: string): string | undefined {
  for (const line of readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[2] === dev) return f[4];
  }
  return undefined;
}

function pathOfHandle(pid: number, sdev: number, type: number, handle: Buffer): string {
  const dev = `${Math.floor(sdev / 2 ** 20)}:${sdev % 2 ** 20}`;
  const mnt = mountOf(pid, dev);
  if (!mnt) throw new Error(`no mount for device ${dev}`);
  const mfd = openSync(mnt, O.RDONLY | O.DIRECTORY);
  try {
    const fh = Buffer.alloc(8 + handle.length);
    fh.writeUInt32LE(handle.length, 0);
    fh.writeInt32LE(type, 4);
    handle.copy(fh, 8);
    const fd = syscallRaw(NR.open_by_handle_at, mfd, addr(fh), O.PATH | O.CLOEXEC);
    if (fd < 0) throw new Error(`open_by_handle_at: errno ${-fd}`);
    try { return readlinkSync(`/proc/self/fd/${fd}`); } finally { close(fd); }
  } finally {
    closeSync(mfd);
  }
}

export const inotify: FdKind<State> = {
  tag: 'inotify',
  schema: State,
  detect: (f) => f.link === 'anon_inode:inotify',
  dump(f) {
    const watches = f.info.lines.map((l) => LINE.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => {
      const handle = Buffer.from(m[7], 'hex').subarray(0, parseInt(m[5], 16));
      let path: string;
      try {
        path = pathOfHandle(f.pid, parseInt(m[3], 16), parseInt(m[6], 16), handle);
      } catch (e) {
        throw new CkptError('KIND_UNSUPPORTED', `inotify fd ${f.fd}: cannot find the path of watched inode ${parseInt(m[2], 16)} (${(e as Error).message})`, { fd: f.fd, kind: 'inotify' });
      }
      return { wd: Number(m[1]), path, mask: parseInt(m[4], 16), ino: parseInt(m[2], 16) };
    });
    return { flags: f.info.flags, watches: watches.sort((a, b) => a.wd - b.wd) };
  },
  check(s, fd, ctx) {
    for (const w of s.watches) {
      let ino = -1;
      try { ino = statSync(w.path).ino; } catch { /* missing */ }
      if (ino < 0) throw new CkptError('FILE_CHANGED', `${w.path}, watched by inotify fd ${fd}, is missing`, { path: w.path, fd });
      if (ino !== w.ino) ctx.notices.push(`inotify fd ${fd}: ${w.path} is another file than when checkpointed; watching it anyway`);
    }
  },
  restore(s, ctx) {
    const t = ctx.tracee;
    const fd = t.call('inotify_init1', NR.inotify_init1, s.flags & (O.NONBLOCK | O.CLOEXEC));
    let next = 1;
    for (const w of s.watches) {
      const p = ctx.scratch.str(w.path);
      // Watch numbers are handed out in sequence: use up the ones the program had dropped.
      while (next < w.wd) {
        const burn = t.call('inotify_add_watch', NR.inotify_add_watch, fd, ctx.scratch.str('/'), 0x100 /* IN_CREATE */);
        t.call('inotify_rm_watch', NR.inotify_rm_watch, fd, burn);
        next = burn + 1;
      }
      const wd = t.call(`inotify_add_watch ${w.path}`, NR.inotify_add_watch, fd, p, w.mask);
      if (wd !== w.wd) throw new CkptError('INTERNAL', `inotify watch on ${w.path} came back as wd ${wd}, not ${w.wd}`);
      next = wd + 1;
    }
    if (s.watches.length && s.watches[s.watches.length - 1].wd !== s.watches.length) {
      // Each burnt number queued an IN_IGNORED event the program must not see.
      const n = ctx.scratch.alloc(4);
      t.call('ioctl(FIONREAD)', SYS.ioctl, fd, 0x541b, n);
      const bytes = ctx.scratch.read(n, 4).readInt32LE(0);
      if (bytes > 0) t.call('read (drain)', SYS.read, fd, ctx.scratch.alloc(bytes), bytes);
    }
    return fd;
  },
  describe: (s) => `inotify watching ${s.watches.map((w) => `${w.path} (wd ${w.wd}, mask 0x${w.mask.toString(16)})`).join(', ') || 'nothing'}`,
};
