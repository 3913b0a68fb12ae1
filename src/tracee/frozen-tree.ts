// A process and all its descendants, frozen together. A process is frozen
// before its children are listed: once every thread of it is stopped it can
// fork no more, so the list read afterwards is final. A child forked while
// its parent was being frozen shows up in that list and is frozen in turn.
// Zombies cannot be traced; they are recorded as they are.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { FrozenProcess } from './frozen-process.js';

export class FrozenTree {
  /** Live processes, parents before children (the root first). */
  readonly processes: FrozenProcess[] = [];
  /** Children that had exited and are not reaped yet. */
  readonly zombies: number[] = [];

  private constructor(readonly root: number) {}

  /**
   * Freeze `root` and every descendant. `attached` lists threads ckpt already
   * traces (under `ckpt run`). On failure everything frozen so far goes on.
   */
  static freeze(root: number, attached?: Map<number, 'stopped' | 'running'>): FrozenTree {
    const tree = new FrozenTree(root);
    try {
      const queue = [root];
      while (queue.length) {
        const pid = queue.shift()!;
        if (pid !== root && isZombie(pid)) {
          tree.zombies.push(pid);
          continue;
        }
        let fp: FrozenProcess;
        try {
          fp = FrozenProcess.freeze(pid, attached);
        } catch (e) {
          // A child that exited while the tree was being frozen is a zombie now, or gone.
          if (pid === root || !exited(pid)) throw e;
          if (isZombie(pid)) tree.zombies.push(pid);
          continue;
        }
        tree.processes.push(fp);
        queue.push(...childrenOf(pid));
      }
    } catch (e) {
      tree.release('running');
      throw e;
    }
    return tree;
  }

  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  /** Every process: go on, stay stopped, or die (children first, so nobody is orphaned mid-way). */
  release(leave: 'running' | 'stopped' | 'killed'): void {
    for (const p of [...this.processes].reverse()) p.release(leave);
  }
}

function exited(pid: number): boolean {
  return isZombie(pid) || !existsSync(`/proc/${pid}`);
}

function isZombie(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').charAt(0);
    return s === 'Z' || s === 'X';
  } catch {
    return false;
  }
}

/** Children of `pid` listed in /proc (every thread's children), in PID order. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: string[] = [];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { /* gone */ }
  for (const tid of tids) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
    } catch { /* thread gone */ }
  }
  return out.sort((a, b) => a - b);
}
