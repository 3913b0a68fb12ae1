// Every thread of a process, frozen together. Threads can appear while
// ckpt seizes the others, so it repeats until a pass finds no new one.
import { readdirSync } from 'node:fs';
import { Tracee } from './tracee.js';
import { ptrace, kill, waitFor, SIG } from '../sys/index.js';

const ALL_SIGNALS = 0xffffffffffffffffn;

export class FrozenProcess {
  /** Every thread, the leader (tid == pid) first. */
  readonly threads: Tracee[] = [];
  /** Each thread's signal mask as found; all signals are blocked while ckpt works. */
  private readonly masks = new Map<number, bigint>();

  /** Threads were already traced by this ckpt (ckpt run): release leaves them traced and running. */
  private attached = false;

  private constructor(readonly pid: number) {}

  /**
   * Freeze every thread. `attached` lists threads ckpt already traces (under
   * `ckpt run`): those in a ptrace stop now (the one that took the
   * checkpoint signal) are adopted as they are, the others interrupted.
   */
  static freeze(pid: number, attached?: Map<number, 'stopped' | 'running'>): FrozenProcess {
    const fp = new FrozenProcess(pid);
    fp.attached = attached !== undefined;
    try {
      for (let pass = 0; ; pass++) {
        let tids: number[];
        try {
          tids = readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => (a === pid ? -1 : b === pid ? 1 : a - b));
        } catch {
          tids = [];
        }
        const fresh = tids.filter((tid) => !fp.threads.some((t) => t.pid === tid));
        if (fresh.length === 0 && pass > 0) break;
        for (const tid of fresh) {
          try {
            const mode = attached?.get(tid);
            fp.threads.push(mode === 'stopped' ? Tracee.adopt(tid) : mode === 'running' ? Tracee.stop(tid) : Tracee.freeze(tid));
          } catch (e) {
            // A thread that exited meanwhile is simply not part of the process any more.
            if (tid === pid || (e as { code?: string }).code !== 'NO_SUCH_PROCESS' && (e as { code?: string }).code !== 'TARGET_GONE') throw e;
          }
        }
        if (pass > 100) throw new Error(`process ${pid} keeps creating threads`);
      }
      fp.threads.sort((a, b) => (a.pid === pid ? -1 : b.pid === pid ? 1 : a.pid - b.pid));
      for (const t of fp.threads) {
        fp.masks.set(t.pid, ptrace.getSigmask(t.pid));
        ptrace.setSigmask(t.pid, ALL_SIGNALS); // nothing gets delivered while ckpt works inside
      }
    } catch (e) {
      fp.release('running');
      throw e;
    }
    return fp;
  }

  get main(): Tracee {
    return this.threads[0];
  }

  maskOf(tid: number): bigint {
    return this.masks.get(tid) ?? 0n;
  }

  /** Registers and masks back, then: go on, stay stopped, or die. Never throws for a vanished thread. */
  release(leave: 'running' | 'stopped' | 'killed'): void {
    for (const t of this.threads) {
      try {
        t.restoreRegs();
        const m = this.masks.get(t.pid);
        if (m !== undefined) ptrace.setSigmask(t.pid, m);
      } catch { /* gone */ }
    }
    if (leave === 'killed') {
      try { kill(this.pid, SIG.KILL); } catch { /* gone */ }
      // The leader's exit is reported only after every other thread's.
      for (const t of [...this.threads.slice(1), this.main]) {
        try { while (waitFor(t.pid, 10_000).kind === 'stopped') { /* until it exits */ } } catch { /* reaped elsewhere */ }
      }
      return;
    }
    if (leave === 'stopped' && !this.main.wasStopped) {
      try { kill(this.pid, SIG.STOP); } catch { /* gone */ }
    }
    for (const t of this.threads) {
      try {
        if (this.attached) ptrace.cont(t.pid, 0); // still supervised: just let it run
        else t.detach();
      } catch { /* gone */ }
    }
  }
}
