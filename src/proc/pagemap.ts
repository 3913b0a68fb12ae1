// /proc/PID/pagemap: one u64 per page. Bit 63 present, 62 swapped, 61
// file-page or shared-anon, 55 soft-dirty, 56 exclusively mapped.
import { openSync, readSync, closeSync } from 'node:fs';

export const PM_PRESENT = 1n << 63n;
export const PM_SWAP = 1n << 62n;
export const PM_FILE = 1n << 61n;

let scratch = Buffer.alloc(0);

export interface PageRun {
  start: number;
  end: number;
  /**
   * Ranges of the run whose pages are not mapped by this process alone (still
   * shared copy-on-write with a parent or child, or in swap). They must be
   * read through /proc/PID/mem: process_vm_readv pins pages, and pinning a
   * shared anonymous page makes the kernel copy it (unshare) — the target
   * would lose its copy-on-write sharing and use more memory.
   */
  notExclusive: Array<{ start: number; end: number }>;
}

/**
 * Runs of pages worth saving in [start, end): present or swapped, and (when
 * `anonOnly`) not file pages — i.e. the copied-on-write pages of a private
 * file mapping.
 */
export function savedRuns(fd: number, start: number, end: number, anonOnly: boolean): PageRun[] {
  const runs: PageRun[] = [];
  const pages = (end - start) / 4096;
  const CH = 65536; // pages per read: 512 KiB of pagemap
  if (scratch.length < Math.min(CH, pages) * 8) scratch = Buffer.allocUnsafe(Math.min(CH, Math.max(pages, 512)) * 8);
  const buf = scratch; // one buffer for every call: most mappings are a few pages, and zeroing 512 KiB each time cost more than reading
  let runStart = -1;
  let shared: PageRun['notExclusive'] = [];
  let sharedStart = -1;
  const endShared = (addr: number) => {
    if (sharedStart >= 0) shared.push({ start: sharedStart, end: addr });
    sharedStart = -1;
  };
  for (let p = 0; p < pages; p += CH) {
    const n = Math.min(CH, pages - p);
    const got = readSync(fd, buf, 0, n * 8, (start / 4096 + p) * 8);
    if (got !== n * 8) throw new Error(`short pagemap read at 0x${start.toString(16)}`);
    for (let i = 0; i < n; i++) {
      // Look at the high 32 bits only: the flags live there.
      const hi = buf.readUInt32LE(i * 8 + 4);
      const present = (hi & 0xc0000000) !== 0;
      const file = (hi & 0x20000000) !== 0;
      const keep = present && !(anonOnly && file);
      const exclusive = (hi & 0x01000000) !== 0; // bit 56
      const addr = start + (p + i) * 4096;
      if (keep && runStart < 0) runStart = addr;
      else if (!keep && runStart >= 0) {
        endShared(addr);
        runs.push({ start: runStart, end: addr, notExclusive: shared });
        shared = [];
        runStart = -1;
      }
      if (keep && !exclusive && sharedStart < 0) sharedStart = addr;
      else if ((!keep || exclusive) && sharedStart >= 0) endShared(addr);
    }
  }
  endShared(end);
  if (runStart >= 0) runs.push({ start: runStart, end, notExclusive: shared });
  return runs;
}

export function openPagemap(pid: number): number {
  return openSync(`/proc/${pid}/pagemap`, 'r');
}
export { closeSync as closePagemap };
