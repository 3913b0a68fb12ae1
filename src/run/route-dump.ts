// `ckpt dump` from the command line: a program supervised by another ckpt
// (`ckpt run`, a foreground `ckpt restore`) is traced by it, so that one
// takes the checkpoint; a Node.js program with onCheckpoint hooks runs them
// and checkpoints itself; anything else is dumped directly. Living here
// keeps the layers one-way: run/ uses dump/, never the other way round.
import { resolve } from 'node:path';
import { dump, defaultImageName, type DumpOptions, type DumpResult } from '../dump/dump.js';
import { supervisorOf, delegateDump } from './delegate.js';
import { hasHooks } from './hooks.js';
import { dumpViaHooks } from './via-hooks.js';

export function dumpAnyProcess(pid: number, opts: DumpOptions = {}): DumpResult {
  const output = () => resolve(opts.output ?? defaultImageName(pid));
  const leave = opts.leave ?? 'running';
  const supervisor = supervisorOf(pid);
  if (supervisor !== undefined) {
    const r = delegateDump(pid, supervisor, { output: output(), leave, tcpClose: opts.tcpClose });
    return { processes: 1, zombies: 0, notices: [], ...r };
  }
  if (!opts.freezeMarker && hasHooks(pid)) {
    const r = dumpViaHooks(pid, output(), leave);
    if (r) return r;
  }
  return dump(pid, opts);
}
