// /proc/PID/stat: the fields ckpt needs (see proc(5) for numbering).
export interface Stat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  ttyNr: number;
  /** Foreground process group of the controlling terminal (-1: none). */
  tpgid: number;
  flags: number;
  startTime: number;
  startStack: number;
  startCode: number;
  endCode: number;
  startData: number;
  endData: number;
  startBrk: number;
  argStart: number;
  argEnd: number;
  envStart: number;
  envEnd: number;
}

export const PF_KTHREAD = 0x00200000;

export function parseStat(text: string): Stat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) throw new Error('unparsable stat');
  // f[0] is field 3 (state).
  const f = text.slice(close + 2).trim().split(' ');
  const n = (field: number) => Number(f[field - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0],
    ppid: n(4),
    pgrp: n(5),
    session: n(6),
    ttyNr: n(7),
    tpgid: n(8),
    flags: n(9),
    startTime: n(22),
    startStack: n(28),
    startCode: n(26),
    endCode: n(27),
    startData: n(45),
    endData: n(46),
    startBrk: n(47),
    argStart: n(48),
    argEnd: n(49),
    envStart: n(50),
    envEnd: n(51),
  };
}
