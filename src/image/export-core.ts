// `ckpt info IMAGE --core PID`: one process of a tree image as a plain core
// file (what the kernel would have dumped for it), for gdb. A tree image is
// itself a core of its root only: its PT_LOAD headers describe the root's
// memory, while the other processes' pages sit in the file unseen by gdb.
import { resolve } from 'node:path';
import { CkptError } from '../errors.js';
import { ImageWriter } from './writer.js';
import { processesOf } from './format.js';
import { coreNotes } from './core-notes.js';
import { loadCount, loadHeaders } from './load-headers.js';
import type { ImageReader } from './reader.js';

export function exportCore(img: ImageReader, pid: number, output: string): { path: string; size: number } {
  const p = processesOf(img.meta).find((x) => x.process.pid === pid);
  if (!p) {
    const all = processesOf(img.meta).map((x) => x.process.pid).join(', ');
    throw new CkptError('USAGE', `the image has no live process ${pid} (it has ${all})`);
  }
  const path = resolve(output);
  const w = new ImageWriter(path);
  try {
    w.reserveHeaders(1 + loadCount(p.vmas));
    const vmas = p.vmas.map((v) => ({
      ...v,
      runs: v.runs.map((r) => {
        const ref = w.writeFromFd(img.fd, r.end - r.start, r.offset, false);
        return { ...r, offset: ref.offset, hash: ref.hash };
      }),
    }));
    const size = w.finishPlain(coreNotes({ process: p.process, threads: p.threads, vmas }), loadHeaders(vmas, w.dataStart));
    return { path, size };
  } catch (e) {
    w.abort();
    throw e;
  }
}
