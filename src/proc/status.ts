// /proc/PID/status: "Key:\tvalue" lines.
export interface Status {
  name: string;
  umask: number;
  state: string;
  tgid: number;
  ppid: number;
  tracerPid: number;
  uid: [number, number, number, number];
  gid: [number, number, number, number];
  groups: number[];
  threads: number;
  sigPnd: bigint;
  shdPnd: bigint;
  sigBlk: bigint;
  sigIgn: bigint;
  sigCgt: bigint;
  capEff: bigint;
  capInh: bigint;
  capPrm: bigint;
  capBnd: bigint;
  capAmb: bigint;
  noNewPrivs: number;
  seccomp: number;
}

export function parseStatus(text: string): Status {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const get = (k: string) => {
    const v = kv.get(k);
    if (v === undefined) throw new Error(`status has no ${k} field`);
    return v;
  };
  const nums = (k: string) => get(k).split(/\s+/).filter(Boolean).map(Number);
  const hex = (k: string) => BigInt('0x' + get(k));
  const four = (k: string) => {
    const v = nums(k);
    return [v[0], v[1], v[2], v[3]] as [number, number, number, number];
  };
  return {
    name: get('Name'),
    umask: parseInt(kv.get('Umask') ?? '0022', 8),
    state: get('State').charAt(0),
    tgid: Number(get('Tgid')),
    ppid: Number(get('PPid')),
    tracerPid: Number(get('TracerPid')),
    uid: four('Uid'),
    gid: four('Gid'),
    groups: (kv.get('Groups') ?? '').split(/\s+/).filter(Boolean).map(Number),
    threads: Number(get('Threads')),
    sigPnd: hex('SigPnd'),
    shdPnd: hex('ShdPnd'),
    sigBlk: hex('SigBlk'),
    sigIgn: hex('SigIgn'),
    sigCgt: hex('SigCgt'),
    capEff: hex('CapEff'),
    capInh: hex('CapInh'),
    capPrm: hex('CapPrm'),
    capBnd: hex('CapBnd'),
    capAmb: hex('CapAmb'),
    noNewPrivs: Number(kv.get('NoNewPrivs') ?? 0),
    seccomp: Number(kv.get('Seccomp') ?? 0),
  };
}
