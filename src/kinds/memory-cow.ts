// Memory still shared copy-on-write since fork: a child's page that is the
// very same physical page as its parent's at the same address (pagemap PFNs,
// visible to root) has the same bytes, so the child's page run points at
// the parent's data in the image instead of holding a copy. A tree of forked
// workers then costs about its distinct pages. (Restore gives each process
// its own copy of the bytes; the sharing in RAM is not rebuilt.)
import { readSync } from 'node:fs';
import { openPagemap, closePagemap } from '../proc/pagemap.js';
import { COVERED, type PageRun, type Vma } from '../image/format.js';

const PFN_MASK = (1n << 55n) - 1n;
const PRESENT = 1n << 63n;

/** PFNs of [start, end) (0 where the page is not present in RAM). */
function pfns(fd: number, start: number, end: number): BigUint64Array {
  const n = (end - start) / 4096;
  const buf = Buffer.alloc(n * 8);
  const got = readSync(fd, buf, 0, buf.length, (start / 4096) * 8);
  const out = new BigUint64Array(n);
  for (let i = 0; i < got / 8; i++) {
    const e = buf.readBigUInt64LE(i * 8);
    out[i] = e & PRESENT ? e & PFN_MASK : 0n;
  }
  return out;
}

export interface CowSource {
  pid: number;
  /** The parent's vmas as written, with their runs' image offsets. */
  vmas: Vma[];
}

/**
 * Split a planned run of the child into runs that reuse the parent's image
 * data (same physical page) and runs that `write` copies from the child.
 */
export function writeRunSharing(childPid: number, parent: CowSource, run: { start: number; end: number },
  write: (start: number, end: number) => PageRun): PageRun[] {
  const parentRuns = parent.vmas.flatMap((v) => v.runs).filter((r) => r.start < run.end && r.end > run.start);
  if (!parentRuns.length) return [write(run.start, run.end)];
  const cfd = openPagemap(childPid);
  const pfd = openPagemap(parent.pid);
  try {
    const mine = pfns(cfd, run.start, run.end);
    const theirs = pfns(pfd, run.start, run.end);
    const out: PageRun[] = [];
    let i = 0;
    const pages = mine.length;
    const at = (k: number) => run.start + k * 4096;
    const parentRunAt = (addr: number) => parentRuns.find((r) => r.start <= addr && addr < r.end);
    while (i < pages) {
      const pr = mine[i] !== 0n && mine[i] === theirs[i] ? parentRunAt(at(i)) : undefined;
      let j = i + 1;
      if (pr) {
        while (j < pages && at(j) < pr.end && mine[j] !== 0n && mine[j] === theirs[j]) j++;
        out.push(reuse(pr, at(i), at(j)));
      } else {
        while (j < pages && !(mine[j] !== 0n && mine[j] === theirs[j] && parentRunAt(at(j)))) j++;
        out.push(write(at(i), at(j)));
      }
      i = j;
    }
    return out;
  } finally {
    closePagemap(cfd);
    closePagemap(pfd);
  }
}

/** A run pointing into the parent's data: the parent run's checksum covers it. */
function reuse(pr: PageRun, start: number, end: number): PageRun {
  const offset = pr.offset + (start - pr.start);
  return { start, end, offset, hash: start === pr.start && end === pr.end ? pr.hash : COVERED };
}
