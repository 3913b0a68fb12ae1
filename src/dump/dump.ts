// Dump orchestration: freeze, collect, write, release. Each kind of state is
// saved by its own module; this file only sequences them and guarantees that
// a failure leaves the target running as before and no image behind.
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, release as kernelRelease } from 'node:os';
import { resolve } from 'node:path';
import { CkptError } from '../errors.js';
import { FrozenProcess } from '../tracee/frozen-process.js';
import { Scratch } from '../tracee/scratch.js';
import type { Remote } from '../tracee/remote.js';
import { SYS, MAP, PROT, mem, syscallRaw } from '../sys/index.js';
import { parseMaps } from '../proc/maps.js';
import { parseStat } from '../proc/stat.js';
import { ImageWriter } from '../image/writer.js';
import { FORMAT, type FdRecord, type Meta } from '../image/format.js';
import { prstatus, prpsinfo, ntFile, type Note } from '../image/elf.js';
import { NT } from '../sys/constants.js';
import { planMemory, writeMemory, loadCount, loadHeaders } from '../kinds/memory.js';
import { dumpThread } from '../kinds/thread.js';
import { dumpActions, dumpSharedPending, queueSignals } from '../kinds/signals.js';
import { dumpItimers, dumpPosixTimers } from '../kinds/timers.js';
import { dumpProcess } from '../kinds/process.js';
import { validateTarget, planFds, blockers, type FdPlan } from './inspect.js';
import { VERSION } from '../version.js';
import { phase } from '../timing.js';
import { supervisorOf, delegateDump } from '../run/delegate.js';
import { hasHooks } from '../run/hooks.js';
import { dumpViaHooks } from './via-hooks.js';

export type Leave = 'running' | 'stopped' | 'killed';

export interface DumpOptions {
  output?: string;
  leave?: Leave;
  onProgress?: (done: number, total: number) => void;
  /** Save established TCP connections as closed by the peer, instead of refusing. */
  tcpClose?: boolean;
  /** Threads this ckpt already traces (`ckpt run`); they stay traced afterwards. */
  attached?: Map<number, 'stopped' | 'running'>;
  /**
   * A checkpoint asked for by freeze(): this file gets "checkpointed" once the
   * image is safe (or "error: ..."), and restore writes "restored" into it.
   */
  freezeMarker?: string;
}

export interface DumpResult {
  pid: number;
  path: string;
  size: number;
  ms: number;
  frozenMs: number;
  memoryBytes: number;
}

const SCRATCH_SIZE = 64 * 1024;
const KCMP_FILE = 0;
const SYS_kcmp = 312;

export function defaultImageName(pid: number): string {
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim().replace(/[^A-Za-z0-9._-]/g, '_') || `pid${pid}`;
  return `${comm}.ckpt`;
}

export function dump(pid: number, opts: DumpOptions = {}): DumpResult {
  const t0 = performance.now();
  const supervisor = opts.attached ? undefined : supervisorOf(pid);
  if (supervisor !== undefined) {
    // Traced by the ckpt that supervises it: that one takes the checkpoint.
    return delegateDump(pid, supervisor, { output: resolve(opts.output ?? defaultImageName(pid)), leave: opts.leave ?? 'running', tcpClose: opts.tcpClose });
  }
  if (!opts.attached && !opts.freezeMarker && hasHooks(pid)) {
    // A Node.js program with onCheckpoint hooks checkpoints itself, after them.
    const r = dumpViaHooks(pid, resolve(opts.output ?? defaultImageName(pid)), opts.leave ?? 'running');
    if (r) return r;
  }
  try {
    validateTarget(pid, opts.attached !== undefined);
    const early = blockers(pid, planFds(pid));
    if (early.length) throw unsupported(pid, early);
  } catch (e) {
    tellFreeze(opts.freezeMarker, e);
    throw e;
  }
  const path = resolve(opts.output ?? defaultImageName(pid));
  const leave = opts.leave ?? 'running';

  phase('validate');
  const fp = FrozenProcess.freeze(pid, opts.attached);
  const t = fp.main;
  phase('freeze');
  const frozenAt = performance.now();
  let scratch: Scratch | undefined;
  let writer: ImageWriter | undefined;
  let heldRequeued = false;
  try {
    const fds = planFds(pid); // again, now that nothing can change
    const late = blockers(pid, fds);
    if (late.length) throw unsupported(pid, late);

    const vdsoInsn = findSyscallInVdso(pid);
    for (const th of fp.threads) if (!th.findSyscallAtRip()) th.syscallInsn = vdsoInsn;
    const base = t.call('mmap (scratch)', SYS.mmap, 0, SCRATCH_SIZE, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
    scratch = new Scratch(pid, base, SCRATCH_SIZE);
    const r: Remote = { t, s: scratch };

    phase('inspect+scratch');
    const proc = dumpProcess(r, pid);
    phase('process');
    scratch.reset();
    const threads = fp.threads.map((th) => {
      scratch!.reset();
      return { ...dumpThread({ t: th, s: scratch! }, pid, th.pid), sigmask: fp.maskOf(th.pid).toString(16) };
    });
    scratch.reset();
    phase('thread');
    const actions = dumpActions(r);
    phase('sigactions');
    scratch.reset();
    const sharedPending = dumpSharedPending(pid);
    const itimers = dumpItimers(r);
    const posix = dumpPosixTimers(r, pid);
    scratch.reset();
    // Signals ckpt took from the thread while freezing go back into its queue
    // now (blocked until release); the image has them as pending already.
    for (const th of fp.threads) queueSignals({ t: th, s: scratch }, pid, th.pid, th.held.map((h) => h.siginfo));
    heldRequeued = true;
    t.call('munmap (scratch)', SYS.munmap, base, SCRATCH_SIZE);
    scratch = undefined;

    phase('timers+unmap');
    const plan = planMemory(pid, proc.mm.startStack);
    phase('plan memory');
    const total = plan.reduce((n, v) => n + v.runs.reduce((m, x) => m + x.end - x.start, 0), 0);
    writer = new ImageWriter(path);
    writer.reserveHeaders(1 + loadCount(plan));
    let done = 0;
    const vmas = writeMemory(pid, plan, writer, (n) => opts.onProgress?.((done += n), total));
    phase('write memory');
    const w = writer;
    const files = dumpFds(pid, fds, (kind, f) => kind.dump(f, { pid, writer: w, tcpClose: opts.tcpClose ?? false }));

    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const frozenMs = performance.now() - frozenAt;
    const meta: Meta = {
      format: { ...FORMAT },
      tool: { name: 'ckpt', version: VERSION },
      createdAt: new Date().toISOString(),
      host: { hostname: hostname(), kernel: kernelRelease(), arch: process.arch },
      dump: { frozenMs, leftRunning: leave !== 'killed' },
      process: proc,
      threads,
      signals: { actions, sharedPending },
      timers: { itimers, posix },
      vmas,
      files,
      blobs: writer.blobs,
      freeze: opts.freezeMarker ? { marker: opts.freezeMarker } : null,
    };
    const notes = coreNotes(meta, stat);
    phase('files');
    const size = writer.finish(notes, meta, loadHeaders(vmas, writer.dataStart));
    phase('finish');
    writer = undefined;
    // freeze(): tell the program its checkpoint is safe before it goes on.
    if (opts.freezeMarker) writeFileSync(opts.freezeMarker, 'checkpointed\n');
    fp.release(leave);
    return { pid, path, size, ms: performance.now() - t0, frozenMs: performance.now() - frozenAt, memoryBytes: total };
  } catch (e) {
    writer?.abort();
    tellFreeze(opts.freezeMarker, e);
    try {
      if (scratch) t.syscall(SYS.munmap, scratch.base, SCRATCH_SIZE);
      if (!heldRequeued) {
        // Give back signals taken during the freeze, the simple way.
        for (const th of fp.threads) for (const h of th.held) syscallRaw(SYS.tgkill, pid, th.pid, h.signal);
      }
    } catch { /* the target is gone: nothing to give back */ }
    fp.release('running');
    throw e;
  }
}

/** A freeze() call waits on its marker file: tell it why no checkpoint was taken. */
function tellFreeze(marker: string | undefined, e: unknown): void {
  if (marker) try { writeFileSync(marker, `error: ${String((e as Error).message ?? e).split('\n').join(' ')}\n`); } catch { /* nowhere to say it */ }
}

function dumpFds(pid: number, fds: FdPlan[], save: (kind: NonNullable<FdPlan['kind']>, f: FdPlan['facts']) => unknown): FdRecord[] {
  const out: FdRecord[] = [];
  for (const p of fds) {
    const f = p.facts;
    const cloexec = (f.info.flags & 0o2000000) !== 0;
    // An fd sharing its open file description with a lower one (dup, 2>&1).
    const twin = fds.find((q) => q.facts.fd < f.fd && q.facts.stat.dev === f.stat.dev && q.facts.stat.ino === f.stat.ino &&
      syscallRaw(SYS_kcmp, pid, pid, KCMP_FILE, q.facts.fd, f.fd) === 0);
    if (twin) {
      out.push({ fd: f.fd, kind: 'dup', cloexec, state: { of: twin.facts.fd } });
      continue;
    }
    const kind = p.kind;
    if (!kind) throw new Error(`internal: fd ${f.fd} has no kind`);
    out.push({ fd: f.fd, kind: kind.tag, cloexec, state: save(kind, f) });
  }
  return out;
}

function findSyscallInVdso(pid: number): number {
  const vdso = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8')).find((m) => m.path === '[vdso]');
  if (!vdso) throw new CkptError('INTERNAL', `process ${pid} has no vDSO to run syscalls through`, { pid });
  const code = mem.read(pid, vdso.start, vdso.end - vdso.start);
  for (let i = 0; i + 1 < code.length; i++) if (code[i] === 0x0f && code[i + 1] === 0x05) return vdso.start + i;
  throw new CkptError('INTERNAL', `no syscall instruction in the vDSO of ${pid}`, { pid });
}

function unsupported(pid: number, problems: string[]): CkptError {
  return new CkptError('KIND_UNSUPPORTED', `process ${pid} cannot be checkpointed yet:\n  ${problems.join('\n  ')}`, { pid, problems, hint: 'nothing was written; the process keeps running' });
}

/** The notes that make the image a core file gdb and readelf understand. */
function coreNotes(meta: Meta, stat: ReturnType<typeof parseStat>): Note[] {
  const p = meta.process;
  const files = meta.vmas.filter((v) => v.backing === 'file' && v.file).map((v) => ({ start: v.start, end: v.end, offset: v.file!.offset, path: v.file!.path }));
  // The kernel's order: the first thread's status, the process notes, its
  // FPU state; then each further thread's status and FPU state.
  const perThread = meta.threads.map((th) => {
    const xstate = Buffer.from(th.xstate, 'base64');
    const regs = Buffer.from(th.regs, 'base64');
    return {
      status: { name: 'CORE', type: NT.PRSTATUS, desc: prstatus({ signal: 0, pid: th.tid, ppid: p.ppid, pgrp: stat.pgrp, sid: stat.session, sigpend: 0n, sighold: BigInt('0x' + th.sigmask), regs }) },
      fpu: [{ name: 'CORE', type: NT.PRFPREG, desc: xstate.subarray(0, 512) }, { name: 'LINUX', type: NT.X86_XSTATE, desc: xstate }],
    };
  });
  return [
    perThread[0].status,
    { name: 'CORE', type: NT.PRPSINFO, desc: prpsinfo({ state: stat.state, pid: p.pid, ppid: p.ppid, pgrp: stat.pgrp, sid: stat.session, uid: p.uid[0], gid: p.gid[0], fname: p.comm, args: p.cmdline.join(' ') }) },
    { name: 'CORE', type: NT.AUXV, desc: Buffer.from(p.auxv, 'base64') },
    { name: 'CORE', type: NT.FILE, desc: ntFile(files) },
    ...perThread[0].fpu,
    ...perThread.slice(1).flatMap((x) => [x.status, ...x.fpu]),
  ];
}
