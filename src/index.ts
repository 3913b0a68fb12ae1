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

export { SIGCKPT, SIGCKPTEXIT };

type Hook = () => unknown | Promise<unknown>;
const checkpointHooks: Hook[] = [];
const restoreHooks: Hook[] = [];
let seq = 0;

/** Run `fn` before every checkpoint freeze() takes (close connections, flush...). */
export function onCheckpoint(fn: Hook): void {
  checkpointHooks.push(fn);
}

/** Run `fn` in a restored copy, before freeze() resolves there (reconnect, reseed...). */
export function onRestore(fn: Hook): void {
  restoreHooks.push(fn);
}

const CLI = fileURLToPath(new URL('./cli/main.js', import.meta.url));

/** The ckpt that supervises this process (`ckpt run`, foreground `ckpt restore`), if any. */
function supervisor(): number | undefined {
  const tracer = Number(/^TracerPid:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
  return tracer && existsSync(requestDir(tracer)) ? tracer : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freeze(): Promise<'checkpointed' | 'restored'> {
  for (const h of checkpointHooks) await h();
  const sup = supervisor();
  const tag = `${process.pid}.${Date.now()}${++seq}`;
  const marker = sup ? `${requestDir(sup)}/freeze.${tag}` : `/tmp/ckpt-freeze.${tag}`;
  writeFileSync(marker, sup ? 'request\n' : '', { mode: 0o600 });
  if (!sup) {
    // ckpt runs as a grandchild: a process is dumped only when it has no child.
    const sh = spawn('/bin/sh', ['-c', '"$0" "$1" dump --quiet --freeze-marker "$2" "$3" </dev/null >/dev/null 2>&1 &', process.execPath, CLI, marker, String(process.pid)], { stdio: 'ignore' });
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
