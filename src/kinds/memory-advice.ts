// What madvise(2), mlock(2) and prctl left on a mapping, as /proc/PID/smaps
// shows in VmFlags: not inherited by fork (MADV_DONTFORK), wiped on fork,
// left out of core dumps, transparent huge pages asked for or refused, KSM,
// read-ahead hints, locked in memory. Saved per mapping and applied again
// once the mapping is back.
import { readFileSync } from 'node:fs';
import { parseVmFlags } from '../proc/smaps.js';
import { SYS } from '../sys/index.js';
import type { Tracee } from '../tracee/tracee.js';
import type { Vma } from '../image/format.js';

/** VmFlags mnemonic → the madvise() advice that sets it. */
const ADVICE: Record<string, number> = {
  rr: 1, // MADV_RANDOM
  sr: 2, // MADV_SEQUENTIAL
  dc: 10, // MADV_DONTFORK
  mg: 12, // MADV_MERGEABLE
  hg: 14, // MADV_HUGEPAGE
  nh: 15, // MADV_NOHUGEPAGE
  dd: 16, // MADV_DONTDUMP
  wf: 18, // MADV_WIPEONFORK
};
const LOCKED = 'lo';
/** Not advice but how an anonymous mapping was made: mmap flags (memory.ts maps it so). */
export const MAP_FLAGS: Record<string, number> = { nr: 0x4000 /* MAP_NORESERVE */, dp: 0x08 /* MAP_DROPPABLE */ };
const NR_mlock = 149;

/**
 * Per mapping start: the flags ckpt restores (a subset of VmFlags), and the
 * shared mappings that may be made writable (mw: the file was opened for
 * writing, so a later mprotect(PROT_WRITE) works).
 */
export function adviceOf(pid: number): { advice: Map<number, string[]>; mayWrite: Set<number>; growsDown: Set<number> } {
  const all = parseVmFlags(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  const out = new Map<number, string[]>();
  const mayWrite = new Set<number>();
  const growsDown = new Set<number>();
  for (const [start, flags] of all) {
    if (flags.includes('mw')) mayWrite.add(start);
    if (flags.includes('gd')) growsDown.add(start); // MAP_GROWSDOWN: the main stack, and any other made so
    // The kernel sets dd and dc itself on its special mappings ([vvar], [vdso]): those come back by themselves.
    const kept = flags.filter((f) => f in ADVICE || f === LOCKED || f in MAP_FLAGS);
    if (kept.length) out.set(start, kept);
  }
  return { advice: out, mayWrite, growsDown };
}

/** Apply the saved advice to every mapping (after its pages are in). */
export function restoreAdvice(t: Tracee, vmas: Vma[]): void {
  for (const v of vmas) {
    if (!v.advice?.length || v.backing === 'special') continue;
    for (const a of v.advice) {
      if (a in MAP_FLAGS) continue;
      if (a === LOCKED) t.call('mlock', NR_mlock, v.start, v.end - v.start);
      else t.call(`madvise(${a})`, SYS.madvise, v.start, v.end - v.start, ADVICE[a]);
    }
  }
}
