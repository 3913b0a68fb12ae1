// `ckpt run`: the program runs traced by ckpt, which costs it nothing until
// a signal arrives (ptrace stops only at signal delivery, fork and exec).
// SIGCKPT/SIGCKPTEXIT for a program with no handler, and freeze() requests,
// become checkpoints; every other signal is delivered as it came.
import { readFileSync, readdirSync, appendFileSync, writeFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CkptError } from '../errors.js';
import { dump } from '../dump/dump.js';
import { ptrace, spawn, tryWait, getpid, PTRACE_O, PTRACE_EVENT, SIG, O, __WALL } from '../sys/index.js';
import { SIGCKPT, SIGCKPTEXIT, requestDir } from '../signals.js';
import { expandTemplate } from './template.js';
import { hasHooks, requestHooks, requestPending } from './hooks.js';
import { bytes, ms } from '../format.js';

export const TRACE_OPTIONS = PTRACE_O.TRACEFORK | PTRACE_O.TRACEVFORK | PTRACE_O.TRACECLONE | PTRACE_O.TRACEEXEC;
const STOP_SIGNALS = new Set<number>([SIG.STOP, SIG.TSTP, SIG.TTIN, SIG.TTOU]);

export interface SuperviseOptions {
  /** Image name template (see template.ts). */
  image: string;
  /** Where notices go: a log file, or stderr when undefined. */
  log?: string;
  tcpClose?: boolean;
  /** Shows notices instead of stderr (the terminal relay). */
  notify?: (text: string) => void;
}

export function findProgram(name: string): string {
  if (name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new CkptError('USAGE', `${name}: command not found`);
}

/**
 * Start `argv` traced by ckpt, with stdio inherited and CKPT_SUPERVISED set.
 * A shell stops itself before it execs the program, so ckpt traces the
 * program from its first instruction (a program that forked or exited at
 * once would otherwise escape).
 */
export function startSupervised(argv: string[], tty?: string): number {
  const program = findProgram(argv[0]);
  // On a terminal of its own: a new session whose controlling terminal it is.
  const onTty = tty ? { setsid: true, open: [[0, tty, O.RDWR]] as Array<[number, string, number]>, after: [[1, 0], [2, 0]] as Array<[number, number]> } : {};
  // bash keeps the program's argv[0] (exec -a); a plain sh gives it the full path.
  const bash = ['/bin/bash', '/usr/bin/bash'].find(existsSync);
  const shell = bash
    ? [bash, ['bash', '-c', 'kill -STOP $$; p="$1"; shift; exec -a "$0" "$p" "$@"', argv[0], program, ...argv.slice(1)]] as const
    : ['/bin/sh', ['sh', '-c', 'kill -STOP $$; exec "$0" "$@"', program, ...argv.slice(1)]] as const;
  const pid = spawn(shell[0], [...shell[1]], {
    closeFrom: 3, env: { ...(process.env as Record<string, string>), CKPT_SUPERVISED: String(getpid()) }, ...onTty,
  });
  const deadline = Date.now() + 10_000;
  while (!/^\d+ \(.*\) T/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) {
    if (Date.now() > deadline) throw new CkptError('INTERNAL', `the program did not start (PID ${pid})`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
  ptrace.seize(pid, TRACE_OPTIONS);
  process.kill(pid, 'SIGCONT');
  return pid;
}

export class Supervisor {
  /** Every traced thread, with its process (thread group). */
  private readonly tasks = new Map<number, number>();
  private mainStatus: number | undefined;

  /** Where supervised programs leave freeze() requests. */
  readonly requests = requestDir(getpid());

  constructor(readonly mainPid: number, private readonly opts: SuperviseOptions) {
    this.tasks.set(mainPid, mainPid);
    mkdirSync(this.requests, { recursive: true, mode: 0o700 });
  }

  /** Remove the request directory, once answers still unread (a `ckpt dump --kill`) are collected. */
  close(): void {
    const deadline = Date.now() + 2000;
    const pending = () => {
      try {
        return readdirSync(this.requests).some((n) => /^(checkpointed|error)/.test(readFileSync(join(this.requests, n), 'utf8')));
      } catch {
        return false;
      }
    };
    while (pending() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    rmSync(this.requests, { recursive: true, force: true });
  }

  /** Adopt threads already traced (a restored process). */
  adopt(tids: number[], tgid: number): void {
    for (const t of tids) this.tasks.set(t, tgid);
  }

  /** Handle every pending event; returns the job's exit code once the main process has ended. */
  pump(): number | undefined {
    this.freezeRequests();
    for (;;) {
      let w;
      try {
        w = tryWait(-1, __WALL);
      } catch {
        break; // ECHILD: nothing left to wait for
      }
      if (!w) break;
      this.handle(w);
    }
    return this.mainStatus;
  }

  private say(text: string): void {
    if (this.opts.log) appendFileSync(this.opts.log, `${new Date().toISOString()} ${text}\n`);
    else if (this.opts.notify) this.opts.notify(text);
    else process.stderr.write(process.stderr.isTTY ? `\r\nckpt: ${text}\r\n` : `ckpt: ${text}\n`);
  }

  private handle(w: ReturnType<typeof tryWait> & object): void {
    const pid = w.pid;
    if (w.kind !== 'stopped') {
      this.tasks.delete(pid);
      if (pid === this.mainPid) this.mainStatus = w.kind === 'exited' ? w.code : 128 + w.signal;
      return;
    }
    if (!this.tasks.has(pid)) this.tasks.set(pid, tgidOf(pid));
    try {
      if (w.event === PTRACE_EVENT.FORK || w.event === PTRACE_EVENT.VFORK || w.event === PTRACE_EVENT.CLONE) {
        const child = Number(ptrace.getEventMsg(pid));
        this.tasks.set(child, w.event === PTRACE_EVENT.CLONE ? this.tasks.get(pid)! : child);
        ptrace.cont(pid);
      } else if (w.event === PTRACE_EVENT.STOP) {
        // A group stop (^Z, SIGSTOP) stays a stop; any other event stop goes on.
        if (STOP_SIGNALS.has(w.signal)) ptrace.listen(pid);
        else ptrace.cont(pid);
      } else if (w.event !== 0) {
        ptrace.cont(pid);
      } else if (w.signal === SIGCKPT || w.signal === SIGCKPTEXIT) {
        this.checkpointSignal(pid, w.signal);
      } else {
        ptrace.cont(pid, w.signal);
      }
    } catch (e) {
      if ((e as { code?: string }).code !== 'ESRCH') throw e;
    }
  }

  /**
   * Requests in the supervisor's directory, files "freeze.PID.SEQ": "request"
   * from freeze() in the program, or "request {json}" from a `ckpt dump` of a
   * supervised program (its output, leave, tcpClose), answered in the file.
   */
  private freezeRequests(): void {
    let names: string[];
    try { names = readdirSync(this.requests); } catch { return; }
    for (const name of names) {
      const m = /^freeze\.(\d+)\.\d+$/.exec(name);
      if (!m) continue;
      const file = join(this.requests, name);
      let text = '';
      try { text = readFileSync(file, 'utf8'); } catch { continue; }
      if (!text.startsWith('request')) continue;
      const tgid = Number(m[1]);
      if (![...this.tasks.values()].includes(tgid)) {
        writeFileSync(file, 'error: not a process of this ckpt supervisor\n');
        continue;
      }
      const json = text.slice('request'.length).trim();
      if (!json) {
        this.checkpoint(tgid, undefined, 'continue', { freezeMarker: file });
        continue;
      }
      let req: DumpRequest;
      try { req = JSON.parse(json) as DumpRequest; } catch { writeFileSync(file, 'error: unreadable request\n'); continue; }
      const mode = req.leave === 'killed' ? 'exit' : req.leave === 'stopped' ? 'stop' : 'continue';
      if (req.freeze) this.checkpoint(tgid, undefined, mode, { freezeMarker: file, output: req.output });
      else this.checkpoint(tgid, undefined, mode, { answer: file, output: req.output, tcpClose: req.tcpClose });
    }
  }

  private checkpointSignal(tid: number, sig: number): void {
    const tgid = this.tasks.get(tid) ?? tgidOf(tid);
    if (hasHooks(tgid) && !requestPending(tgid)) {
      // A Node.js program with onCheckpoint hooks: it runs them, then freezes (a request to this supervisor).
      try {
        requestHooks(tgid, { output: expandTemplate(this.opts.image, tgid), leave: sig === SIGCKPTEXIT ? 'killed' : 'running' });
      } catch (e) {
        this.say(`checkpoint of PID ${tgid} failed: ${(e as Error).message}`);
      }
      ptrace.cont(tid, 0);
    } else if (hasHandler(tgid, sig)) {
      ptrace.cont(tid, sig); // the program prepares itself, then calls freeze()
    } else {
      this.checkpoint(tgid, tid, sig === SIGCKPTEXIT ? 'exit' : 'continue');
    }
  }

  /**
   * A checkpoint under supervision covers the whole job: the tree from the
   * program ckpt started (or restored), whichever member asked for it.
   */
  private checkpoint(tgid: number, stoppedTid: number | undefined, mode: 'continue' | 'exit' | 'stop', how: { freezeMarker?: string; answer?: string; output?: string; tcpClose?: boolean } = {}): void {
    const root = [...this.tasks.values()].includes(this.mainPid) ? this.mainPid : tgid;
    const attached = new Map<number, 'stopped' | 'running'>();
    for (const t of this.tasks.keys()) attached.set(t, t === stoppedTid ? 'stopped' : 'running');
    let path = '';
    try {
      path = how.output ?? expandTemplate(this.opts.image, root);
      const leave = mode === 'exit' ? 'killed' : mode === 'stop' ? 'stopped' : 'running';
      const r = dump(root, { output: path, leave, attached, freezeMarker: how.freezeMarker, tcpClose: how.tcpClose ?? this.opts.tcpClose });
      const tree = r.processes > 1 ? ` with ${r.processes - 1} descendant${r.processes > 2 ? 's' : ''}` : '';
      for (const n of r.notices) this.say(n);
      this.say(`PID ${root}${tree} checkpointed to ${r.path} (${bytes(r.size)}, frozen ${ms(r.frozenMs)})${mode === 'exit' ? '; it has ended' : ''}`);
      if (how.answer) writeFileSync(how.answer, `checkpointed ${JSON.stringify(r)}\n`);
      if (mode === 'exit') {
        this.tasks.clear();
        if (root === this.mainPid) this.mainStatus = 128 + (how.answer ? SIG.KILL : SIGCKPTEXIT);
      }
    } catch (e) {
      const msg = (e as Error).message.replace(/\n\s*/g, '; ');
      this.say(`checkpoint of PID ${root}${path ? ` to ${path}` : ''} failed: ${msg}; the program goes on`);
      const file = how.freezeMarker ?? how.answer;
      if (file) try { if (!/^(checkpointed|error)/m.test(readFileSync(file, 'utf8'))) writeFileSync(file, `error: ${JSON.stringify({ code: (e as { code?: string }).code ?? 'INTERNAL', message: msg })}\n`); } catch { /* gone */ }
      if (stoppedTid !== undefined) try { ptrace.cont(stoppedTid, 0); } catch { /* already running */ }
    }
  }
}

/** What `ckpt dump` of a supervised program asks its supervisor. */
export interface DumpRequest {
  output: string;
  leave: 'running' | 'stopped' | 'killed';
  tcpClose?: boolean;
  /** From freeze() after the program's hooks (the file is then a freeze marker). */
  freeze?: boolean;
}

function tgidOf(tid: number): number {
  try {
    return Number(/^Tgid:\s+(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'))?.[1] ?? tid);
  } catch {
    return tid;
  }
}

/** Does the process catch `sig` (SigCgt in /proc/PID/status)? */
export function hasHandler(pid: number, sig: number): boolean {
  try {
    const cgt = BigInt('0x' + (/^SigCgt:\s+([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0'));
    return ((cgt >> BigInt(sig - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

export function threadsOfProcess(pid: number): number[] {
  try { return readdirSync(`/proc/${pid}/task`).map(Number); } catch { return []; }
}
