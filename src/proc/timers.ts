// /proc/PID/timers: POSIX timers (timer_create), one block per timer.
export interface PosixTimerInfo {
  id: number;
  signal: number;
  /** sigev_value as printed (hex). */
  value: bigint;
  /** sigev_notify: SIGEV_SIGNAL 0 or SIGEV_NONE 1, plus SIGEV_THREAD_ID (4) when aimed at a thread. */
  notify: number;
  notifyTid: number;
  clockId: number;
}

export function parseTimers(text: string): PosixTimerInfo[] {
  const out: PosixTimerInfo[] = [];
  let cur: Partial<PosixTimerInfo> | undefined;
  for (const line of text.split('\n')) {
    const [k, v] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()];
    if (k === 'ID') {
      cur = { id: Number(v) };
      out.push(cur as PosixTimerInfo);
    } else if (!cur) {
      continue;
    } else if (k === 'signal') {
      const [sig, val] = v.split('/');
      cur.signal = Number(sig);
      cur.value = BigInt('0x' + val);
    } else if (k === 'notify') {
      const [how, who = ''] = v.split('/');
      cur.notify = (how === 'none' ? 1 : how === 'thread' ? 2 : 0) | (who.startsWith('tid') ? 4 : 0);
      cur.notifyTid = Number(who.split('.')[1] ?? 0);
    } else if (k === 'ClockID') {
      cur.clockId = Number(v);
    }
  }
  return out;
}
