// /proc/PID/smaps: only the VmFlags line of each mapping, by start address.
export function parseVmFlags(text: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  let start = -1;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ /.exec(line);
    if (head) start = parseInt(head[1], 16);
    else if (line.startsWith('VmFlags:') && start >= 0) out.set(start, line.slice(8).trim().split(/\s+/).filter(Boolean));
  }
  return out;
}
