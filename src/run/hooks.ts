// Checkpoints of a Node.js program that registered onCheckpoint/onRestore
// hooks, started from outside it (signal, key, `ckpt dump`): ckpt asks the
// program to checkpoint itself, so its hooks run first. The program (the
// 'ckpt' module) keeps a marker file while it has hooks, and polls for a
// request file; on a request it runs its hooks and calls freeze().
import { readFileSync, writeFileSync, existsSync, unlinkSync } from 'node:fs';

/** What ckpt asks: where the image goes, what becomes of the program, and a file for the outcome. */
export interface HooksRequest { output: string; leave: 'running' | 'stopped' | 'killed'; answer?: string }

export const hooksMarker = (pid: number) => `/tmp/ckpt-hooks.${pid}`;
export const hooksRequest = (pid: number) => `/tmp/ckpt-hooks.${pid}.request`;

/** Start time of a process (clock ticks since boot): tells a PID's owner from a later one. */
export function startTime(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Does `pid` have checkpoint hooks (a marker written by this very process)? */
export function hasHooks(pid: number): boolean {
  try {
    const st = startTime(pid);
    return st !== undefined && readFileSync(hooksMarker(pid), 'utf8').trim() === st;
  } catch {
    return false;
  }
}

/** Ask the program to checkpoint itself after its hooks. */
export function requestHooks(pid: number, req: HooksRequest): void {
  writeFileSync(hooksRequest(pid), JSON.stringify(req), { mode: 0o600 });
}

/** Called by the program: a pending request, taken. */
export function takeRequest(pid: number): HooksRequest | undefined {
  const file = hooksRequest(pid);
  if (!existsSync(file)) return undefined;
  try {
    const req = JSON.parse(readFileSync(file, 'utf8')) as HooksRequest;
    unlinkSync(file);
    return req;
  } catch {
    return undefined;
  }
}

export function requestPending(pid: number): boolean {
  return existsSync(hooksRequest(pid));
}

export function cancelRequest(pid: number): void {
  try { unlinkSync(hooksRequest(pid)); } catch { /* taken meanwhile */ }
}
