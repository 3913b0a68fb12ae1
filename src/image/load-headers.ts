// The PT_LOAD program headers of an image: one per saved page run (and one
// per mapping with none), so that gdb and readelf see the process's memory.
import { PF_R, PF_W, PF_X, PT_LOAD, type Phdr } from './elf.js';
import type { Vma } from './format.js';

/** How many PT_LOAD headers `loadHeaders` will produce. */
export function loadCount(plan: Array<Pick<Vma, 'runs'> | { runs: unknown[] }>): number {
  return plan.reduce((n, v) => n + Math.max(1, v.runs.length), 0);
}

/**
 * PT_LOAD headers so that gdb and readelf see the saved memory. A mapping with
 * no saved pages gets p_filesz 0 and, as in kernel cores, a non-zero offset:
 * gdb misreads offset 0 as a second copy of the notes.
 */
export function loadHeaders(vmas: Vma[], dataStart: number): Phdr[] {
  const out: Phdr[] = [];
  for (const v of vmas) {
    const flags = (v.prot[0] === 'r' ? PF_R : 0) | (v.prot[1] === 'w' ? PF_W : 0) | (v.prot[2] === 'x' ? PF_X : 0);
    if (v.runs.length === 0) out.push({ type: PT_LOAD, flags, offset: dataStart, vaddr: v.start, filesz: 0, memsz: v.end - v.start, align: 4096 });
    for (const r of v.runs) out.push({ type: PT_LOAD, flags, offset: r.offset, vaddr: r.start, filesz: r.end - r.start, memsz: r.end - r.start, align: 4096 });
  }
  return out;
}

