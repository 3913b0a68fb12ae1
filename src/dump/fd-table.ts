// The fds of the whole tree, in three levels (as CRIU has them): fd number
// → open file description → kernel object. An fd sharing its open file
// description with an fd saved before it (kcmp) is saved as a reference to
// that one: a dup in the same process, or "shared" with another process of
// the tree (inherited across fork). Every other fd is saved by its kind,
// which handles objects with several descriptions (a pipe's two ends).
import { SYS, syscallRaw } from '../sys/index.js';
import type { FdRecord } from '../image/format.js';
import type { FdPlan } from './inspect.js';
import { parseLocks } from '../kinds/file-locks.js';

const KCMP_FILE = 0;

export function dumpTreeFds(plans: Map<number, FdPlan[]>, save: (kind: NonNullable<FdPlan['kind']>, f: FdPlan['facts']) => unknown): Map<number, FdRecord[]> {
  const done: FdPlan['facts'][] = [];
  const out = new Map<number, FdRecord[]>();
  for (const [pid, fds] of plans) {
    const records: FdRecord[] = [];
    for (const p of fds) {
      const f = p.facts;
      const cloexec = (f.info.flags & 0o2000000) !== 0;
      const twin = done.find((q) => q.stat.dev === f.stat.dev && q.stat.ino === f.stat.ino &&
        syscallRaw(SYS.kcmp, q.pid, pid, KCMP_FILE, q.fd, f.fd) === 0);
      done.push(f);
      // flock and OFD locks belong to the open file description: saved with its first fd only.
      const all = parseLocks(f.info.lines, `process ${pid} fd ${f.fd}`);
      const locks = twin ? all.filter((l) => l.kind === 'posix') : all;
      if (twin) {
        records.push(twin.pid === pid
          ? { fd: f.fd, kind: 'dup', cloexec, state: { of: twin.fd }, locks }
          : { fd: f.fd, kind: 'shared', cloexec, state: { pid: twin.pid, fd: twin.fd }, locks });
        continue;
      }
      if (!p.kind) throw new Error(`internal: fd ${f.fd} of ${pid} has no kind`);
      records.push({ fd: f.fd, kind: p.kind.tag, cloexec, state: save(p.kind, f), locks });
    }
    out.set(pid, records);
  }
  return out;
}
