// `ckpt dump` of a Node.js program with onCheckpoint hooks: ask it to run
// them and checkpoint itself (see run/hooks.ts), then report the image it
// wrote. A program that does not pick the request up in time (a blocked
// event loop) is checkpointed directly instead.
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CkptError } from '../errors.js';
import { ImageReader } from '../image/reader.js';
import { processesOf } from '../image/format.js';
import { requestHooks, requestPending, cancelRequest, hooksMarker } from './hooks.js';
import type { DumpResult, Leave } from '../dump/dump.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const PICKUP_MS = 5000;

export function dumpViaHooks(pid: number, output: string, leave: Leave, timeoutMs = 600_000): DumpResult | undefined {
  const t0 = Date.now();
  const answer = `${hooksMarker(pid)}.answer.${randomBytes(4).toString('hex')}`;
  requestHooks(pid, { output, leave, answer });
  try {
    for (;;) {
      if (requestPending(pid) && Date.now() - t0 > PICKUP_MS) {
        cancelRequest(pid);
        return undefined;
      }
      let text = '';
      try { text = readFileSync(answer, 'utf8'); } catch { /* not yet */ }
      if (text.startsWith('error')) throw new CkptError('INTERNAL', `the program could not checkpoint itself: ${text.slice(6).trim()}`, { pid });
      const fresh = existsSync(output) && statSync(output).mtimeMs >= t0 - 1000;
      if (text.startsWith('checkpointed') || (leave === 'killed' && !existsSync(`/proc/${pid}`) && fresh)) {
        const img = ImageReader.open(output);
        try {
          const all = processesOf(img.meta);
          const memoryBytes = all.flatMap((p) => p.vmas).reduce((n, v) => n + v.runs.reduce((m, r) => m + r.end - r.start, 0), 0);
          return { pid, path: output, size: img.size, ms: Date.now() - t0, frozenMs: img.meta.dump.frozenMs, memoryBytes, processes: all.length, zombies: img.meta.zombies.length, notices: [] };
        } finally {
          img.close();
        }
      }
      if (!existsSync(`/proc/${pid}`)) throw new CkptError('TARGET_GONE', `process ${pid} ended before its checkpoint was written`, { pid });
      if (Date.now() - t0 > timeoutMs) throw new CkptError('INTERNAL', `process ${pid} did not checkpoint itself in time`, { pid });
      Atomics.wait(sleeper, 0, 0, 5);
    }
  } finally {
    try { unlinkSync(answer); } catch { /* never written */ }
  }
}
