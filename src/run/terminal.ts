// When ckpt runs a program on a terminal, the program gets a pseudo-terminal
// of its own that ckpt relays: so a key (default ^E) can checkpoint the
// foreground program the way ^\ dumps core, and a restore can give a
// terminal program a terminal again, with its modes and the current size.
import { writeSync, closeSync, openSync, read as readAsync } from 'node:fs';
import { CkptError } from '../errors.js';
import { openPty, setWinsize, foregroundGroup, setTermios, getTermios, getWinsize } from '../sys/pty.js';
import { O } from '../sys/index.js';

export const DEFAULT_KEY = '^E';

/** "^E", "C-e", "ctrl-e" -> 5; "none" -> null. */
export function parseKey(text: string): number | null {
  if (text === 'none') return null;
  const m = /^(?:\^|c-|ctrl-|ctrl\+)([a-z@\[\\\]^_])$/i.exec(text.trim());
  if (!m) throw new CkptError('USAGE', `unknown key "${text}" (use a control key like ^E, C-e or ctrl-e, or none)`);
  return m[1].toUpperCase().charCodeAt(0) & 0x1f;
}

export function keyName(code: number): string {
  return `^${String.fromCharCode(code + 64)}`;
}

export class TerminalRelay {
  readonly master: number;
  readonly slave: string;
  /**
   * ckpt's own fd on the slave, held open: a pty's modes reset when the
   * last fd on its slave closes, so modes set before the program opens it
   * would be lost otherwise.
   */
  private readonly slaveFd: number;
  private closed = false;
  private readonly onResize = () => this.syncSize();

  constructor(private readonly key: number | null, private readonly onKey: () => void) {
    const p = openPty();
    this.master = p.master;
    this.slave = p.slave;
    this.slaveFd = openSync(this.slave, O.RDWR | O.NOCTTY | O.CLOEXEC);
    this.syncSize();
  }

  setModes(termios: Buffer): void {
    setTermios(this.slaveFd, termios);
  }

  /** Relay bytes both ways until the program's side closes. */
  start(): void {
    if (process.stdin.isTTY) process.stdin.setRawMode(true);
    process.stdin.on('data', (d: Buffer) => this.fromUser(d));
    process.stdin.resume();
    process.stdout.on('resize', this.onResize);
    const buf = Buffer.alloc(65536);
    const pump = () => {
      readAsync(this.master, buf, 0, buf.length, null, (err, n) => {
        if (err || n <= 0 || this.closed) return; // EIO: the program's side is gone
        try { writeSync(1, buf, 0, n); } catch { /* our terminal went away */ }
        pump();
      });
    };
    pump();
  }

  private fromUser(d: Buffer): void {
    let data = d;
    if (this.key !== null && data.includes(this.key)) {
      data = Buffer.from(data.filter((b) => b !== this.key));
      this.onKey();
    }
    const susp = this.suspendChar();
    if (susp !== undefined && data.includes(susp)) {
      const at = data.indexOf(susp);
      if (at > 0) try { writeSync(this.master, data.subarray(0, at)); } catch { /* program gone */ }
      this.suspend();
      return;
    }
    if (data.length) try { writeSync(this.master, data); } catch { /* program gone */ }
  }

  /**
   * The program's suspend key (^Z), when its terminal generates signals. Its
   * session has no job control of its own (no shell around it), so ckpt does
   * what the shell would: stop the program, then stop itself, so that the
   * user's shell sees a stopped job; `fg` continues both.
   */
  private suspendChar(): number | undefined {
    const t = getTermios(this.slaveFd);
    if (!t) return undefined;
    const ISIG = 1;
    const VSUSP = 10;
    const c = t[17 + VSUSP];
    return t.readUInt32LE(12) & ISIG && c ? c : undefined;
  }

  private suspend(): void {
    const pgrp = this.foreground();
    if (pgrp && pgrp > 0) try { process.kill(-pgrp, 'SIGSTOP'); } catch { /* gone */ }
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.once('SIGCONT', () => {
      if (this.closed) return;
      if (process.stdin.isTTY) process.stdin.setRawMode(true);
      if (pgrp && pgrp > 0) try { process.kill(-pgrp, 'SIGCONT'); } catch { /* gone */ }
      this.redraw();
    });
    process.kill(process.pid, 'SIGTSTP');
  }

  /** Make a full-screen program redraw: a size change it sees as SIGWINCH. */
  redraw(): void {
    const size = getWinsize(1);
    if (size && size.rows > 1) {
      setWinsize(this.master, size.rows - 1, size.cols);
      setWinsize(this.master, size.rows, size.cols);
    }
  }

  /** The foreground process group of the program's terminal. */
  foreground(): number | undefined {
    return foregroundGroup(this.master);
  }

  syncSize(): void {
    const size = getWinsize(1) ?? getWinsize(0);
    if (size && size.rows && size.cols) setWinsize(this.master, size.rows, size.cols);
  }

  /** A one-line notice on the user's terminal, then make a full-screen program redraw (a size change). */
  notice(text: string): void {
    try { writeSync(2, `\r\n\x1b[7mckpt: ${text}\x1b[0m\r\n`); } catch { /* no terminal */ }
    this.redraw();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.stdout.off('resize', this.onResize);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stdin.removeAllListeners('data');
    try { closeSync(this.slaveFd); } catch { /* closed */ }
    try { closeSync(this.master); } catch { /* closed */ }
  }
}

