// Dump orchestration: freeze the tree, collect, write, release. Each kind of
// state is saved by its own module; this file only sequences them and
// guarantees that a failure leaves every process running as before and no
// image behind. A program supervised by another ckpt, or one with
// onCheckpoint hooks, is routed elsewhere by the caller (run/).
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, release as kernelRelease } from 'node:os';
import { resolve } from 'node:path';
import { CkptError } from '../errors.js';
import { FrozenTree } from '../tracee/frozen-tree.js';
import { ImageWriter } from '../image/writer.js';
import { FORMAT, type Meta, type ProcessImage, type Vma } from '../image/format.js';
import { coreNotes } from '../image/core-notes.js';
import { planMemory, writeMemory, type ShmemSeen } from '../kinds/memory.js';
import { loadCount, loadHeaders } from '../image/load-headers.js';
import { nodeOf, planTree, zombieRecord } from '../kinds/process-tree.js';
import { validateTarget, planTreeFds, blockers, listTree } from './inspect.js';
import { collectProcess } from './collect-process.js';
import { fingerprintOf } from '../kinds/fingerprint.js';
import { dumpTreeFds } from './fd-table.js';
import { VERSION } from '../version.js';
import { phase } from '../timing.js';

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
  /** Live processes saved (the root and its descendants), and zombies. */
  processes: number;
  zombies: number;
  /** Things the user should know (connections to outside the tree that will not survive). */
  notices: string[];
}

export function defaultImageName(pid: number): string {
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim().replace(/[^A-Za-z0-9._-]/g, '_') || `pid${pid}`;
  return `${comm}.ckpt`;
}

export function dump(pid: number, opts: DumpOptions = {}): DumpResult {
  const t0 = performance.now();
  try {
    validateTarget(pid, opts.attached !== undefined);
    // A first look, before anything is frozen: refuse early what cannot be saved.
    const listed = listTree(pid);
    const plans = planTreeFds(listed.live);
    const early = listed.live.flatMap((p) => blockers(p, plans.get(p) ?? [], pid));
    if (early.length) throw unsupported(pid, early);
  } catch (e) {
    tellFreeze(opts.freezeMarker, e);
    throw e;
  }
  const path = resolve(opts.output ?? defaultImageName(pid));
  const leave = opts.leave ?? 'running';

  phase('validate');
  let tree: FrozenTree;
  try {
    tree = FrozenTree.freeze(pid, opts.attached);
  } catch (e) {
    tellFreeze(opts.freezeMarker, e);
    throw e;
  }
  phase('freeze');
  const frozenAt = performance.now();
  let writer: ImageWriter | undefined;
  try {
    // Again, now that nothing can change.
    const pids = tree.pids;
    const plans = planTreeFds(pids);
    const late = pids.flatMap((p) => blockers(p, plans.get(p)!, pid));
    if (late.length) throw unsupported(pid, late);
    const nodes = [...pids, ...tree.zombies].map(nodeOf);
    planTree(nodes); // a tree that restore could not rebuild exactly is refused here
    phase('inspect');

    const collected = tree.processes.map((fp) => {
      const ppid = nodes.find((n) => n.pid === fp.pid)!.ppid;
      return collectProcess(fp, fp.pid !== pid && pids.includes(ppid) ? ppid : undefined);
    });
    // The view the restore will be compared with, the freeze's own traces taken out.
    const prints = tree.processes.map((fp) => {
      const f = fingerprintOf(fp.pid);
      for (const th of fp.threads) f[`thread ${th.pid} signal mask`] = fp.maskOf(th.pid).toString(16).padStart(16, '0');
      return f;
    });
    const shmem: ShmemSeen = new Map();
    const openFiles = new Set([...plans.values()].flat().map((p) => `${p.facts.stat.dev}:${p.facts.stat.ino}`));
    const memPlans = collected.map((c) => planMemory(c.pid, c.process.mm.startStack, shmem, openFiles));
    phase('plan memory');
    const total = memPlans.flat().reduce((n, v) => n + v.runs.reduce((m, x) => m + x.end - x.start, 0), 0);
    writer = new ImageWriter(path);
    writer.reserveHeaders(1 + loadCount(memPlans[0]));
    let done = 0;
    // Parents first: a child's pages still shared with its parent since fork point at the parent's data.
    const vmas: Vma[][] = [];
    collected.forEach((c, i) => {
      const parent = collected.findIndex((q) => q.pid === c.process.ppid);
      const cow = i > 0 && parent >= 0 ? { pid: collected[parent].pid, vmas: vmas[parent] } : undefined;
      vmas.push(writeMemory(c.pid, memPlans[i], writer!, (n) => opts.onProgress?.((done += n), total), cow));
    });
    phase('write memory');
    const w = writer;
    const notices: string[] = [];
    const saved = new Set<string>();
    const files = dumpTreeFds(plans, (kind, f) => kind.dump(f, { pid: f.pid, writer: w, tcpClose: opts.tcpClose ?? false, notices, saved }));

    const frozenMs = performance.now() - frozenAt;
    const images: ProcessImage[] = collected.map((c, i) => ({
      process: c.process, threads: c.threads, signals: c.signals, timers: c.timers, vmas: vmas[i], fingerprint: prints[i],
      files: files.get(c.pid)!.map((f) => (c.owners.has(f.fd) ? { ...f, owner: c.owners.get(f.fd) } : f)),
    }));
    const meta: Meta = {
      format: { ...FORMAT },
      tool: { name: 'ckpt', version: VERSION },
      createdAt: new Date().toISOString(),
      host: { hostname: hostname(), kernel: kernelRelease(), arch: process.arch },
      dump: { frozenMs, leftRunning: leave !== 'killed' },
      ...images[0],
      members: images.slice(1),
      zombies: nodes.filter((n) => n.zombie).map(zombieRecord),
      blobs: writer.blobs,
      freeze: opts.freezeMarker ? { marker: opts.freezeMarker } : null,
    };
    const notes = coreNotes(meta);
    phase('files');
    const size = writer.finish(notes, meta, loadHeaders(meta.vmas, writer.dataStart));
    phase('finish');
    writer = undefined;
    // freeze(): tell the program its checkpoint is safe before it goes on.
    if (opts.freezeMarker) writeFileSync(opts.freezeMarker, 'checkpointed\n');
    tree.release(leave);
    return { pid, path, size, ms: performance.now() - t0, frozenMs: performance.now() - frozenAt, memoryBytes: writtenBytes(vmas), processes: pids.length, zombies: tree.zombies.length, notices };
  } catch (e) {
    writer?.abort();
    tellFreeze(opts.freezeMarker, e);
    tree.release('running');
    throw e;
  }
}

/** Page bytes the image holds (runs pointing at another process's data count once). */
function writtenBytes(vmas: Vma[][]): number {
  const seen = new Set<number>();
  let n = 0;
  for (const r of vmas.flat().flatMap((v) => v.runs)) if (!seen.has(r.offset)) { seen.add(r.offset); n += r.end - r.start; }
  return n;
}

/** A freeze() call waits on its marker file: tell it why no checkpoint was taken. */
function tellFreeze(marker: string | undefined, e: unknown): void {
  if (marker) try { writeFileSync(marker, `error: ${String((e as Error).message ?? e).split('\n').join(' ')}\n`); } catch { /* nowhere to say it */ }
}

function unsupported(pid: number, problems: string[]): CkptError {
  return new CkptError('KIND_UNSUPPORTED', `process ${pid} cannot be checkpointed yet:\n  ${problems.join('\n  ')}`, { pid, problems, hint: 'nothing was written; the process keeps running' });
}

