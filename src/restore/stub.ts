// Making the process to reshape, with the exact PID. Node cannot fork, so a
// small system program (cat, blocked reading a pipe ckpt holds) is started
// and seized, and made to clone3() a child with set_tid = the saved PID. The
// child is auto-attached to ckpt; the helper is then killed, so the child is
// re-parented to ckpt (a child subreaper) and can be waited for like a job.
import { existsSync, readFileSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { Tracee } from '../tracee/tracee.js';
import { Scratch } from '../tracee/scratch.js';
import { SYS, MAP, PROT, SIG, O, PTRACE_O, PTRACE_EVENT, pipe2, spawn, close, isOpen, kill, waitFor, mem } from '../sys/index.js';
import { parseMaps } from '../proc/maps.js';

/** Where, in the helper's copy, ckpt's own stdin/stdout/stderr sit. */
export const INHERITED_BASE = 3;

export function pidOwner(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return existsSync(`/proc/${pid}`) ? '(unknown)' : undefined;
  }
}

export function pidTaken(pid: number, cause?: unknown): CkptError {
  const who = pidOwner(pid);
  return new CkptError('PID_TAKEN', `PID ${pid} is in use by ${who ?? 'another process'}`, {
    pid, cause, hint: 'end that process first, or restore in a fresh PID namespace (unshare --pid --fork --mount-proc)',
  });
}

function findSyscall(pid: number): number {
  const vdso = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).find((m) => m.path === '[vdso]');
  if (!vdso) throw new Error('helper has no vDSO');
  const code = mem.read(pid, vdso.start, vdso.end - vdso.start);
  const i = code.indexOf(Buffer.from([0x0f, 0x05]));
  if (i < 0) throw new Error('no syscall instruction in the vDSO');
  return vdso.start + i;
}

export interface Stub {
  /** The new process, in a ptrace stop, with the wanted PID. */
  child: Tracee;
}

export function createWithPid(pid: number): Stub {
  const cat = ['/bin/cat', '/usr/bin/cat'].find(existsSync);
  if (!cat) throw new CkptError('INTERNAL', 'cannot find cat(1) to start the restore helper');
  const [r, w] = pipe2(O.CLOEXEC);
  let helper = 0;
  try {
    helper = spawn(cat, ['ckpt-restore-helper'], {
      dup2: [...[0, 1, 2].filter(isOpen).map((k): [number, number] => [INHERITED_BASE + k, k]), [0, r]],
      open: [[1, '/dev/null', O.WRONLY], [2, '/dev/null', O.WRONLY], ...[0, 1, 2].filter((k) => !isOpen(k)).map((k): [number, string, number] => [INHERITED_BASE + k, '/dev/null', O.RDWR])],
      closeFrom: INHERITED_BASE + 3,
      // No rseq area in the helper: its memory is about to disappear.
      env: { ...process.env as Record<string, string>, GLIBC_TUNABLES: 'glibc.pthread.rseq=0' },
    });
    close(r);
    const h = Tracee.freeze(helper, PTRACE_O.TRACEFORK | PTRACE_O.TRACECLONE | PTRACE_O.TRACEVFORK | PTRACE_O.EXITKILL);
    if (!h.findSyscallAtRip()) h.syscallInsn = findSyscall(helper);
    const base = h.call('mmap', SYS.mmap, 0, 4096, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
    const s = new Scratch(helper, base, 4096);
    const tid = s.put(Buffer.from(new Int32Array([pid]).buffer));
    const args = Buffer.alloc(88);
    args.writeBigUInt64LE(BigInt(SIG.CHLD), 32); // exit_signal
    args.writeBigUInt64LE(BigInt(tid), 64); // set_tid
    args.writeBigUInt64LE(1n, 72); // set_tid_size
    const rc = h.syscall(SYS.clone3, s.put(args), 88);
    if (rc === -17 /* EEXIST */) throw pidTaken(pid);
    if (rc < 0) throw new CkptError('PERMISSION', `cannot create a process with PID ${pid} (clone3: errno ${-rc})`, { pid, hint: 'restoring a PID needs root (CAP_SYS_ADMIN)' });
    if (rc !== pid) throw new CkptError('INTERNAL', `clone3 gave PID ${rc}, not ${pid}`);
    // The child starts in a ptrace stop of its own.
    for (;;) {
      const st = waitFor(pid, 10_000);
      if (st.kind !== 'stopped') throw new CkptError('INTERNAL', `the new process ${pid} ended before it could be restored`);
      if (st.event === PTRACE_EVENT.STOP || st.signal === SIG.STOP) break;
    }
    const child = Tracee.adopt(pid);
    child.syscallInsn = h.syscallInsn;
    return { child };
  } finally {
    if (helper) {
      try { kill(helper, SIG.KILL); } catch { /* gone */ }
      try {
        while (waitFor(helper, 10_000).kind === 'stopped') { /* until it is gone */ }
      } catch { /* reaped */ }
    }
    close(w);
  }
}
