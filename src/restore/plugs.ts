// `ckpt restore --fd [PID:]N=SPEC`: something chosen at restore time put
// into fd N of a process instead of what the image holds there — the way to
// reconnect a pipe whose other end was outside the tree (CRIU's
// --inherit-fd). SPEC is a file path (opened in the fd's saved access mode;
// a write-only fd appends, creating the file), `-` for ckpt restore's own
// stdin (read) or stdout (write), or `&K` for fd K that ckpt restore has.
import { fstatSync } from 'node:fs';
import { resolve } from 'node:path';
import { CkptError } from '../errors.js';
import { SYS, O, F, AT_FDCWD } from '../sys/index.js';
import type { FdRecord, ProcessImage } from '../image/format.js';
import type { RestoreContext } from '../kinds/types.js';

export interface Plug {
  /** The process (the root's PID when not given). */
  pid: number;
  fd: number;
  spec: string;
}

/** Parse `[PID:]N=SPEC` strings against the image's processes. */
export function parsePlugs(specs: string[], processes: ProcessImage[]): Plug[] {
  return specs.map((text) => {
    const m = /^(?:(\d+):)?(\d+)=(.+)$/s.exec(text);
    if (!m) throw new CkptError('USAGE', `--fd ${text}: expected [PID:]N=SPEC (SPEC: a file, - or &K)`);
    const pid = m[1] ? Number(m[1]) : processes[0].process.pid;
    const fd = Number(m[2]);
    const spec = m[3];
    const p = processes.find((x) => x.process.pid === pid);
    if (!p) throw new CkptError('USAGE', `--fd ${text}: the image has no process ${pid}`);
    if (!p.files.some((f) => f.fd === fd)) throw new CkptError('USAGE', `--fd ${text}: process ${pid} had no fd ${fd} (ckpt info shows its fds)`);
    const own = /^&(\d+)$/.exec(spec);
    if (own) {
      try { fstatSync(Number(own[1])); } catch { throw new CkptError('USAGE', `--fd ${text}: ckpt restore has no fd ${own[1]}`); }
    }
    return { pid, fd, spec: spec === '-' || own ? spec : resolve(spec) };
  });
}

/** The saved access mode of an fd record (kinds keep the open flags in `flags`). */
function accessMode(rec: FdRecord): number {
  const flags = (rec.state as { flags?: unknown }).flags;
  if (typeof flags === 'number') return flags & O.ACCMODE;
  const end = (rec.state as { end?: unknown }).end;
  if (end === 'read') return O.RDONLY;
  if (end === 'write') return O.WRONLY;
  return O.RDWR;
}

/** Open the plug inside the target; returns its fd there. */
export function plugInto(ctx: RestoreContext, plug: Plug, rec: FdRecord): number {
  const mode = accessMode(rec);
  const t = ctx.tracee;
  ctx.notices.push(`process ${plug.pid} fd ${plug.fd}: ${plug.spec === '-' ? (mode === O.RDONLY ? 'ckpt restore\'s stdin' : 'ckpt restore\'s stdout') : plug.spec} plugged in (--fd)`);
  if (plug.spec === '-') return t.call('fcntl(F_DUPFD)', SYS.fcntl, ctx.inheritedFd(mode === O.RDONLY ? 0 : 1), F.DUPFD, 0);
  const own = /^&(\d+)$/.exec(plug.spec);
  if (own) return ctx.give(Number(own[1]));
  const flags = mode === O.RDONLY ? O.RDONLY : mode === O.WRONLY ? O.WRONLY | O.CREAT | O.APPEND : O.RDWR | O.CREAT;
  return t.call(`open ${plug.spec}`, SYS.openat, AT_FDCWD, ctx.scratch.str(plug.spec), flags | O.CLOEXEC, 0o666);
}
