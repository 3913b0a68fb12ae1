// The library API for checkpoint-aware Node.js programs:
//
//   import { freeze, onCheckpoint, onRestore } from 'ckpt';
//   onCheckpoint(async () => { await db.close(); });
//   onRestore(async () => { db = await connect(); });
//   const r = await freeze();   // 'checkpointed' in the original, 'restored' in a restored copy
//
// freeze() talks to ckpt through a small file, as ckpt.h does for C (see
// src/signals.ts): under `ckpt run` it asks the supervisor; otherwise it
// starts `ckpt dump --freeze-marker` itself. It rejects when no checkpoint
// could be taken.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync, unlinkSync, rmdirSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestDir, SIGCKPT, SIGCKPTEXIT } from './signals.js';
import { hooksMarker, startTime, takeRequest, type HooksRequest } from './run/hooks.js';

export { SIGCKPT, SIGCKPTEXIT };

type Hook = () => unknown | Promise<unknown>;
const checkpointHooks: Hook[] = [];
const restoreHooks: Hook[] = [];
let seq = 0;

/**
 * Run `fn` before every checkpoint ckpt takes of this program — by freeze(),
 * by the checkpoint signals or key, or by `ckpt dump` (close connections,
 * flush...).
 */
export function onCheckpoint(fn: Hook): void {
  checkpointHooks.push(fn);
  watchForRequests();
}

/** Run `fn` in a restored copy, before freeze() resolves there (reconnect, reseed...). */
export function onRestore(fn: Hook): void {
  restoreHooks.push(fn);
  watchForRequests();
}

let watching = false;

/**
 * With hooks registered, checkpoints started from outside come as requests:
 * ckpt sees the marker and asks, the program runs its hooks and freezes.
 */
function watchForRequests(): void {
  if (watching) return;
  watching = true;
  const mark = () => writeFileSync(hooksMarker(process.pid), `${startTime(process.pid)}\n`, { mode: 0o600 });
  mark();
  process.on('exit', () => { try { unlinkSync(hooksMarker(process.pid)); } catch { /* gone */ } });
  let busy = false;
  setInterval(() => {
    if (busy) return;
    const req = takeRequest(process.pid);
    if (!req) return;
    busy = true;
    const answer = (text: string) => { if (req.answer) try { writeFileSync(req.answer, text); } catch { /* asker gone */ } };
    freezeWith(req).then(
      (r) => { if (r === 'restored') mark(); else answer('checkpointed\n'); },
      (e: Error) => answer(`error: ${e.message}\n`),
    ).finally(() => { busy = false; });
  }, 50).unref();
}

const CLI = fileURLToPath(new URL('./cli/main.js', import.meta.url));

/** The ckpt that supervises this process (`ckpt run`, foreground `ckpt restore`), if any. */
function supervisor(): number | undefined {
  const tracer = Number(/^TracerPid:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  return tracer && existsSync(requestDir(tracer)) ? tracer : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freeze(): Promise<'checkpointed' | 'restored'> {
  return freezeWith({});
}

async function freezeWith(hooksReq: Partial<HooksRequest>): Promise<'checkpointed' | 'restored'> {
  const req = { output: hooksReq.output, leave: hooksReq.leave };
  for (const h of checkpointHooks) await h();
  const sup = supervisor();
  const tag = `${process.pid}.${Date.now()}${++seq}`;
  const marker = sup ? `${requestDir(sup)}/freeze.${tag}` : `/tmp/ckpt-freeze.${tag}`;
  const custom = req.output !== undefined || req.leave !== undefined;
  writeFileSync(marker, sup ? `request${custom ? ` ${JSON.stringify({ freeze: true, ...req })}` : ''}\n` : '', { mode: 0o600 });
  if (!sup) {
    // ckpt runs as a grandchild: a process is dumped only when it has no child.
    const extra = [...(req.output ? ['-o', req.output] : []), ...(req.leave === 'killed' ? ['--kill'] : req.leave === 'stopped' ? ['--stop'] : [])];
    const script = 'e="$0"; c="$1"; m="$2"; p="$3"; shift 3; "$e" "$c" dump --quiet --freeze-marker "$m" "$@" "$p" </dev/null >/dev/null 2>&1 &';
    const sh = spawn('/bin/sh', ['-c', script, process.execPath, CLI, marker, String(process.pid), ...extra], { stdio: 'ignore' });
    await once(sh, 'exit');
  }
  for (let waited = 0; ; waited += 2) {
    let text = '';
    try { text = readFileSync(marker, 'utf8'); } catch { /* being rewritten */ }
    if (/^(checkpointed|restored|error)/.test(text)) {
      try { unlinkSync(marker); } catch { /* gone */ }
      if (text.startsWith('error')) throw new Error(`ckpt could not checkpoint this process: ${text.slice(7).trim()}`);
      if (text.startsWith('checkpointed')) return 'checkpointed';
      if (sup) try { rmdirSync(dirname(marker)); } catch { /* still used */ }
      for (const h of restoreHooks) await h();
      return 'restored';
    }
    if (waited > 600_000) throw new Error('ckpt did not answer within 10 minutes');
    await sleep(2);
  }
}
