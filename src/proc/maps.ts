// /proc/PID/maps: text in, records out.
export interface MapEntry {
  start: number;
  end: number;
  read: boolean;
  write: boolean;
  exec: boolean;
  shared: boolean;
  offset: number;
  dev: string; // "maj:min" in hex as printed
  inode: number;
  /** Path, a pseudo name like [heap], or '' for anonymous memory. */
  path: string;
  /** The path ended in " (deleted)". */
  deleted: boolean;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-])([w-])([x-])([ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)\s*(.*)$/;

export function parseMaps(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unparsable maps line: ${line}`);
    let path = m[10];
    const deleted = path.endsWith(' (deleted)');
    if (deleted) path = path.slice(0, -' (deleted)'.length);
    out.push({
      start: parseInt(m[1], 16),
      end: parseInt(m[2], 16),
      read: m[3] === 'r',
      write: m[4] === 'w',
      exec: m[5] === 'x',
      shared: m[6] === 's',
      offset: parseInt(m[7], 16),
      dev: m[8],
      inode: Number(m[9]),
      path,
      deleted,
    });
  }
  return out;
}
