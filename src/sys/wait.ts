// wait4 with a deadline. Never block forever in the kernel: a target that
// hangs must become an error, not a hung ckpt (LINUX-NOTES pitfall 3).
import { addr, syscallRaw } from './libc.js';
import { SysError } from './errno.js';
import { SYS, WNOHANG, __WALL } from './constants.js';

export type WaitResult =
  | { kind: 'exited'; pid: number; code: number }
  | { kind: 'signaled'; pid: number; signal: number }
  | { kind: 'stopped'; pid: number; signal: number; event: number; raw: number };

export function decodeStatus(pid: number, s: number): WaitResult {
  if ((s & 0x7f) === 0) return { kind: 'exited', pid, code: (s >> 8) & 0xff };
  if ((s & 0xff) === 0x7f) return { kind: 'stopped', pid, signal: (s >> 8) & 0xff, event: (s >> 16) & 0xff, raw: s };
  return { kind: 'signaled', pid, signal: s & 0x7f };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function nap(ms: number) {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Non-blocking wait: undefined when nothing happened yet. */
const st = Buffer.alloc(4);
const stAddr = addr(st);

export function tryWait(pid: number, flags = __WALL): WaitResult | undefined {
  const r = syscallRaw(SYS.wait4, pid, stAddr, flags | WNOHANG, 0);
  if (r < 0) throw new SysError('wait4', -r, `pid ${pid}`);
  if (r === 0) return undefined;
  return decodeStatus(r, st.readInt32LE(0));
}

/**
 * Wait for a state change of `pid` (a tracee or a child). Spins briefly (a
 * single-step completes in microseconds), then naps, until `timeoutMs`.
 */
export function waitFor(pid: number, timeoutMs = 10_000, flags = __WALL): WaitResult {
  for (let i = 0; i < 2000; i++) {
    const r = tryWait(pid, flags);
    if (r) return r;
  }
  const deadline = Date.now() + timeoutMs;
  let pause = 0.05;
  for (;;) {
    const r = tryWait(pid, flags);
    if (r) return r;
    if (Date.now() > deadline) throw new SysError('wait4', 110 /* ETIMEDOUT */, `pid ${pid} did not stop within ${timeoutMs} ms`);
    nap(pause);
    pause = Math.min(pause * 2, 5);
  }
}
