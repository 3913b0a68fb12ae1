// The notes that make an image a core file gdb and readelf understand: the
// root process's status and registers per thread, its command, auxv and
// mapped files, as the kernel writes them in a core dump.
import { prstatus, prpsinfo, ntFile, type Note } from './elf.js';
import { NT } from '../sys/constants.js';
import type { Meta } from './format.js';

/** The notes that make the image a core file gdb and readelf understand (for the root process). */
export function coreNotes(meta: Pick<Meta, 'process' | 'threads' | 'vmas'>): Note[] {
  const p = meta.process;
  const files = meta.vmas.filter((v) => v.backing === 'file' && v.file).map((v) => ({ start: v.start, end: v.end, offset: v.file!.offset, path: v.file!.path }));
  const pgrp = p.pgid ?? p.pid;
  const sid = p.sid ?? p.pid;
  // The kernel's order: the first thread's status, the process notes, its
  // FPU state; then each further thread's status and FPU state.
  const perThread = meta.threads.map((th) => {
    const xstate = Buffer.from(th.xstate, 'base64');
    const regs = Buffer.from(th.regs, 'base64');
    return {
      status: { name: 'CORE', type: NT.PRSTATUS, desc: prstatus({ signal: 0, pid: th.tid, ppid: p.ppid, pgrp, sid, sigpend: 0n, sighold: BigInt('0x' + th.sigmask), regs }) },
      fpu: [{ name: 'CORE', type: NT.PRFPREG, desc: xstate.subarray(0, 512) }, { name: 'LINUX', type: NT.X86_XSTATE, desc: xstate }],
    };
  });
  return [
    perThread[0].status,
    { name: 'CORE', type: NT.PRPSINFO, desc: prpsinfo({ state: p.stopped ? 'T' : 'S', pid: p.pid, ppid: p.ppid, pgrp, sid, uid: p.uid[0], gid: p.gid[0], fname: p.comm, args: p.cmdline.join(' ') }) },
    { name: 'CORE', type: NT.AUXV, desc: Buffer.from(p.auxv, 'base64') },
    { name: 'CORE', type: NT.FILE, desc: ntFile(files) },
    ...perThread[0].fpu,
    ...perThread.slice(1).flatMap((x) => [x.status, ...x.fpu]),
  ];
}
