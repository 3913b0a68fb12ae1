// A program supervised by a ckpt (`ckpt run`, foreground `ckpt restore`) is
// traced by it, so another ckpt cannot seize it: `ckpt dump` hands the
// request to the supervisor instead, through its request directory.
import { readFileSync, writeFileSync, unlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CkptError, EXIT_CODES, type ErrorCode } from '../errors.js';
import { getpid } from '../sys/index.js';
import { requestDir } from '../signals.js';
import type { DumpRequest } from './supervisor.js';

/** The ckpt supervising `pid`, if any (its tracer, when that tracer has a request directory). */
export function supervisorOf(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const tracer = Number(/^TracerPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return tracer && tracer !== getpid() && existsSync(requestDir(tracer)) ? tracer : undefined;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export interface DelegatedResult { pid: number; path: string; size: number; ms: number; frozenMs: number; memoryBytes: number }

/** Ask the supervisor for the checkpoint and wait for its answer. */
export function delegateDump(pid: number, supervisor: number, req: DumpRequest, timeoutMs = 600_000): DelegatedResult {
  const file = join(requestDir(supervisor), `freeze.${pid}.${Date.now()}${process.pid}`);
  writeFileSync(file, `request ${JSON.stringify(req)}\n`, { mode: 0o600 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      let text = '';
      try { text = readFileSync(file, 'utf8'); } catch { /* being written */ }
      if (text.startsWith('checkpointed')) return JSON.parse(text.slice('checkpointed'.length)) as DelegatedResult;
      if (text.startsWith('error')) {
        const body = text.slice('error:'.length).trim();
        let code: ErrorCode = 'INTERNAL';
        let message = body;
        try {
          const e = JSON.parse(body) as { code: string; message: string };
          if (e.code in EXIT_CODES) code = e.code as ErrorCode;
          message = e.message;
        } catch { /* plain text */ }
        throw new CkptError(code, message, { pid, hint: 'asked through the ckpt supervising the process' });
      }
      if (!existsSync(requestDir(supervisor))) throw new CkptError('TARGET_GONE', `the ckpt supervising ${pid} (PID ${supervisor}) ended before answering`, { pid });
      if (Date.now() > deadline) throw new CkptError('INTERNAL', `the ckpt supervising ${pid} (PID ${supervisor}) did not answer`, { pid });
      Atomics.wait(sleeper, 0, 0, 2);
    }
  } finally {
    try { unlinkSync(file); } catch { /* gone */ }
  }
}
