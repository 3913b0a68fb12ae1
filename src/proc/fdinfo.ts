// /proc/PID/fdinfo/N: pos, flags (octal), mnt_id, ino, plus kind-specific lines.
export interface FdInfo {
  pos: number;
  flags: number;
  mntId: number;
  ino: number;
  /** Every other line, by key (kind-specific: eventfd-count, clockid, ...). */
  extra: Map<string, string>;
  /** Every line, for kinds that repeat a key (epoll's "tfd:" lines, inotify's "inotify wd:"). */
  lines: string[];
}

export function parseFdinfo(text: string): FdInfo {
  const extra = new Map<string, string>();
  let pos = 0, flags = 0, mntId = 0, ino = 0;
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1).trim();
    if (k === 'pos') pos = Number(v);
    else if (k === 'flags') flags = parseInt(v, 8);
    else if (k === 'mnt_id') mntId = Number(v);
    else if (k === 'ino') ino = Number(v);
    else extra.set(k, v);
  }
  return { pos, flags, mntId, ino, extra, lines: text.split('\n').filter(Boolean) };
}
