// Signal dispositions (handler, flags, mask, restorer) and the process-wide
// queue of pending signals. Per-thread state (mask, own queue, alternate
// stack) lives in thread.ts.
import { readFileSync } from 'node:fs';
import { SYS, NSIG, SIG, ptrace } from '../sys/index.js';
import type { SigAction } from '../image/format.js';
import type { Remote } from '../tracee/remote.js';

const hex = (b: bigint) => b.toString(16);

/**
 * Every signal whose disposition is not the default. Only the signals
 * /proc says are caught or ignored are asked (one injected call each), and
 * SIGCHLD, whose flags (SA_NOCLDSTOP, SA_NOCLDWAIT) matter even by default.
 */
export function dumpActions(r: Remote, pid: number): SigAction[] {
  const out: SigAction[] = [];
  const old = r.s.alloc(32);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const set = (k: string) => BigInt('0x' + (new RegExp(`^${k}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '0'));
  const asked = set('SigCgt') | set('SigIgn') | (1n << BigInt(SIG.CHLD - 1));
  for (let sig = 1; sig <= NSIG; sig++) {
    if (sig === SIG.KILL || sig === SIG.STOP || !((asked >> BigInt(sig - 1)) & 1n)) continue;
    r.t.call(`rt_sigaction(${sig})`, SYS.rt_sigaction, sig, 0, old, 8);
    const b = r.s.read(old, 32);
    const handler = b.readBigUInt64LE(0);
    const flags = b.readBigUInt64LE(8);
    const mask = b.readBigUInt64LE(24);
    if (handler === 0n && mask === 0n && flags === 0n) continue;
    out.push({ sig, handler: hex(handler), flags: hex(flags), restorer: hex(b.readBigUInt64LE(16)), mask: hex(mask) });
  }
  return out;
}

export function restoreActions(r: Remote, actions: SigAction[]): void {
  for (const a of actions) {
    const b = Buffer.alloc(32);
    b.writeBigUInt64LE(BigInt('0x' + a.handler), 0);
    b.writeBigUInt64LE(BigInt('0x' + a.flags), 8);
    b.writeBigUInt64LE(BigInt('0x' + a.restorer), 16);
    b.writeBigUInt64LE(BigInt('0x' + a.mask), 24);
    r.t.call(`rt_sigaction(${a.sig})`, SYS.rt_sigaction, a.sig, r.s.put(b), 0, 8);
  }
}

export const dumpSharedPending = (pid: number) => ptrace.peekSiginfo(pid, true).map((b) => b.toString('base64'));

/** Queue signals again, each with its full siginfo. `tid` set: to that thread; else to the process. */
export function queueSignals(r: Remote, tgid: number, tid: number | undefined, infos: Buffer[]): void {
  for (const info of infos) {
    const sig = info.readInt32LE(0);
    const at = r.s.put(info);
    if (tid === undefined) r.t.call(`rt_sigqueueinfo(${sig})`, SYS.rt_sigqueueinfo, tgid, sig, at);
    else r.t.call(`rt_tgsigqueueinfo(${sig})`, SYS.rt_tgsigqueueinfo, tgid, tid, sig, at);
  }
}

export function describeAction(a: SigAction): string {
  const h = a.handler === '0' ? 'default' : a.handler === '1' ? 'ignored' : `handler 0x${a.handler}`;
  return `signal ${a.sig}: ${h}, flags 0x${a.flags}, mask 0x${a.mask}`;
}
