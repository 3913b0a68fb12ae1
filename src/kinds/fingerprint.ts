// A restore checks itself: at dump, ckpt records what /proc shows of each
// process (mappings with protections and VmFlags, each fd's kind, flags and
// offset, credentials and capabilities, seccomp and no_new_privs, signal
// dispositions and every thread's mask, group, session and parent, cwd and
// root, resource limits); after the restore, before anything runs, it reads
// the same of the new process and compares. A difference is an error naming
// the field, and the restore is undone: never a process that quietly differs.
import * as v from 'valibot';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { parseMaps } from '../proc/maps.js';
import { parseVmFlags } from '../proc/smaps.js';
import { parseFdinfo } from '../proc/fdinfo.js';

export const Fingerprint = v.record(v.string(), v.string());
export type Fingerprint = v.InferOutput<typeof Fingerprint>;

/** VmFlags that say what a mapping is and what was asked of it (not accounting or THP state the kernel keeps). */
const KEPT_VMFLAGS = new Set(['rd', 'wr', 'ex', 'sh', 'mr', 'mw', 'me', 'ms', 'gd', 'lo', 'io', 'sr', 'rr', 'dc', 'de', 'dd', 'wf', 'mg', 'hg', 'nh']);
const STATUS_FIELDS = ['Umask', 'Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'SigIgn', 'SigCgt'];
const O_LARGEFILE = 0o100000;

/** The view of one process, as "field → value" (fields named as the error will name them). */
export function fingerprintOf(pid: number): Fingerprint {
  const out: Fingerprint = {};
  const flags = parseVmFlags(readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  // Neighbouring private anonymous mappings alike in every way are one region to the
  // program: the kernel keeps them apart only for its own bookkeeping (memory
  // inherited from a parent and memory of its own), and maps them as one after a restore.
  let last: { key: string; end: number; desc: string } | undefined;
  for (const m of parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'))) {
    if (m.path === '[vsyscall]') continue;
    const name = m.inode === 0 || m.path === '/dev/zero' ? m.path : m.path.replace(/\.ckpt-ghost-[0-9a-f]{8}$/, '');
    // nr (MAP_NORESERVE) and dp (MAP_DROPPABLE) say how anonymous memory was made; on files the kernel sets nr itself.
    const vf = (flags.get(m.start) ?? []).filter((f) => KEPT_VMFLAGS.has(f) || (m.inode === 0 && (f === 'nr' || f === 'dp'))).sort().join(' ');
    const desc = `${m.read ? 'r' : '-'}${m.write ? 'w' : '-'}${m.exec ? 'x' : '-'}${m.shared ? 's' : 'p'} ${name}${m.deleted ? ' (deleted)' : ''} [${vf}]`;
    if (last && m.inode === 0 && !m.shared && m.path === '' && last.end === m.start && last.desc === desc) {
      out[last.key] = `0x${m.end.toString(16)} ${desc}`;
      last.end = m.end;
      continue;
    }
    const key = `mapping 0x${m.start.toString(16)}`;
    out[key] = `0x${m.end.toString(16)} ${desc}`;
    last = m.inode === 0 && !m.shared && m.path === '' ? { key, end: m.end, desc } : undefined;
  }
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    let link: string;
    let info;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${name}`);
      info = parseFdinfo(readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8'));
    } catch { continue; }
    const what = link.startsWith('/') ? link.replace(/\.ckpt-ghost-[0-9a-f]{8}/, '') : link.replace(/\[\d+\]$/, '');
    const pos = link.startsWith('/') && !link.startsWith('/dev/') ? ` at ${info.pos}` : '';
    out[`fd ${name}`] = `${what} flags 0${(info.flags & ~O_LARGEFILE).toString(8)}${pos}`;
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  for (const f of STATUS_FIELDS) {
    const m = new RegExp(`^${f}:\\s*(.*)$`, 'm').exec(status);
    if (m) out[f] = m[1].trim().replace(/\s+/g, ' ');
  }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /^SigBlk:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      if (m) out[`thread ${tid} signal mask`] = m[1];
    } catch { /* gone */ }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  out.ppid = f[1];
  out['process group'] = f[2];
  out.session = f[3];
  out.cwd = readlinkSync(`/proc/${pid}/cwd`);
  out.root = readlinkSync(`/proc/${pid}/root`);
  out.limits = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').slice(1).map((l) => l.replace(/\s+/g, ' ').trim()).filter(Boolean).join('; ');
  return out;
}

/**
 * The fields that differ, leaving out what the restore changes on purpose
 * (`skip`: field names or prefixes: stdio connected to ckpt restore's, fds
 * plugged with --fd, the root's parent, a group or session from outside).
 */
export function differences(saved: Fingerprint, now: Fingerprint, skip: (field: string) => boolean): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(saved), ...Object.keys(now)])) {
    if (skip(k) || saved[k] === now[k]) continue;
    out.push(`${k}: was ${saved[k] ?? '(none)'}, is ${now[k] ?? '(none)'}`);
  }
  return out;
}
