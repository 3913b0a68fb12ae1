// Process-wide attributes: command line and mm fields, executable, cwd,
// umask, rlimits, credentials, personality, name.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { SYS, PR, PR_SET_MM_MAP, O, AT_FDCWD } from '../sys/index.js';
import { parseStatus } from '../proc/status.js';
import { parseStat } from '../proc/stat.js';
import { identityOf } from './file-identity.js';
import type { Meta } from '../image/format.js';
import type { Remote } from '../tracee/remote.js';

export type ProcessState = Meta['process'];
/** What dumpProcess reads; the tree's fields (group, session, stop) come from the tree. */
export type OwnState = Omit<ProcessState, 'pgid' | 'sid' | 'stopped' | 'tpgid' | 'filesOfParent'>;
const RLIMIT_COUNT = 16;

export function dumpProcess(r: Remote, pid: number): OwnState {
  const status = parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const brk = r.t.call('brk', SYS.brk, 0);
  const rlimits = limitsOf(pid);
  const sig = r.s.alloc(8);
  r.t.call('prctl(PR_GET_PDEATHSIG)', SYS.prctl, PR.GET_PDEATHSIG, sig, 0, 0, 0);
  const pdeathSig = r.s.read(sig, 4).readInt32LE(0);
  r.t.call('prctl(PR_GET_CHILD_SUBREAPER)', SYS.prctl, PR.GET_CHILD_SUBREAPER, sig, 0, 0, 0);
  const childSubreaper = r.s.read(sig, 4).readInt32LE(0) !== 0;
  const thpDisable = r.t.call('prctl(PR_GET_THP_DISABLE)', SYS.prctl, PR.GET_THP_DISABLE, 0, 0, 0, 0) === 1;
  let exe: ProcessState['exe'] = null;
  try {
    exe = identityOf(readlinkSync(`/proc/${pid}/exe`), statSync(`/proc/${pid}/exe`, { bigint: true }));
  } catch { /* no executable (rare) */ }
  const hex = (b: bigint) => b.toString(16);
  return {
    caps: { inh: hex(status.capInh), prm: hex(status.capPrm), eff: hex(status.capEff), bnd: hex(status.capBnd), amb: hex(status.capAmb) },
    noNewPrivs: status.noNewPrivs === 1,
    pid,
    ppid: status.ppid,
    comm: status.name,
    cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1),
    exe,
    cwd: readlinkSync(`/proc/${pid}/cwd`),
    umask: status.umask,
    uid: status.uid,
    gid: status.gid,
    groups: status.groups,
    personality: parseInt(readFileSync(`/proc/${pid}/personality`, 'utf8'), 16),
    rlimits,
    mm: {
      startCode: stat.startCode, endCode: stat.endCode, startData: stat.startData, endData: stat.endData,
      startBrk: stat.startBrk, brk, startStack: stat.startStack, argStart: stat.argStart, argEnd: stat.argEnd,
      envStart: stat.envStart, envEnd: stat.envEnd,
    },
    auxv: readFileSync(`/proc/${pid}/auxv`).toString('base64'),
    pdeathSig,
    childSubreaper,
    thpDisable,
  };
}

/**
 * The 16 resource limits [soft, hard], read from /proc/PID/limits (one line
 * per RLIMIT_*, in order; "unlimited" is RLIM_INFINITY) instead of 16
 * syscalls run inside the process.
 */
function limitsOf(pid: number): Array<[string, string]> {
  const INF = '18446744073709551615';
  const rows = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').slice(1).filter(Boolean);
  if (rows.length < RLIMIT_COUNT) throw new Error(`/proc/${pid}/limits has ${rows.length} limits, not ${RLIMIT_COUNT}`);
  return rows.slice(0, RLIMIT_COUNT).map((row): [string, string] => {
    const v = row.slice(26).trim().split(/\s+/); // the name column is 26 wide
    const n = (x: string) => (x === 'unlimited' ? INF : BigInt(x).toString());
    return [n(v[0]), n(v[1])];
  });
}

/**
 * mm fields, auxv and /proc/PID/exe in one PR_SET_MM_MAP. Done while only the
 * trampoline is mapped: the kernel refuses a new exe_fd while the old
 * executable is still mapped.
 */
export function restoreMm(r: Remote, p: ProcessState): void {
  const auxv = Buffer.from(p.auxv, 'base64');
  let exeFd = -1;
  if (p.exe) exeFd = r.t.call(`open ${p.exe.path}`, SYS.openat, AT_FDCWD, r.s.str(p.exe.path), O.RDONLY | O.CLOEXEC, 0);
  const m = Buffer.alloc(104);
  const f = p.mm;
  [f.startCode, f.endCode, f.startData, f.endData, f.startBrk, f.brk, f.startStack, f.argStart, f.argEnd, f.envStart, f.envEnd]
    .forEach((v, i) => m.writeBigUInt64LE(BigInt(v), i * 8));
  m.writeBigUInt64LE(BigInt(r.s.put(auxv)), 88);
  m.writeUInt32LE(auxv.length, 96);
  m.writeInt32LE(exeFd, 100);
  try {
    r.t.call('prctl(PR_SET_MM_MAP)', SYS.prctl, PR.SET_MM, PR_SET_MM_MAP, r.s.put(m), 104, 0);
  } finally {
    if (exeFd >= 0) r.t.syscall(SYS.close, exeFd);
  }
}

/**
 * cwd, umask, rlimits, personality, parent-death signal, child subreaper.
 * Returns notices for what it could not set. `isRoot`: the root's parent is
 * ckpt restore, not the original one, so its parent-death signal is not armed.
 */
export function restoreAttributes(r: Remote, p: ProcessState, isRoot = false): string[] {
  const notices: string[] = [];
  r.t.call(`chdir ${p.cwd}`, SYS.chdir, r.s.str(p.cwd));
  if (p.thpDisable) r.t.call('prctl(PR_SET_THP_DISABLE)', SYS.prctl, PR.SET_THP_DISABLE, 1, 0, 0, 0);
  if (p.childSubreaper) r.t.call('prctl(PR_SET_CHILD_SUBREAPER)', SYS.prctl, PR.SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (p.pdeathSig && isRoot) notices.push(`process ${p.pid}: its parent-death signal (${p.pdeathSig}) is not armed again: its parent was outside the tree`);
  r.t.call('umask', SYS.umask, p.umask);
  r.t.call('personality', SYS.personality, p.personality);
  const cur = r.s.alloc(16);
  const now = limitsOf(r.t.pid); // inherited from the parent: most need no call
  p.rlimits.forEach(([soft, hard], i) => {
    if (now[i][0] === soft && now[i][1] === hard) return;
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(BigInt(soft), 0);
    b.writeBigUInt64LE(BigInt(hard), 8);
    const rc = r.t.syscall(SYS.prlimit64, 0, i, r.s.put(b), 0);
    if (rc < 0) {
      // Raising a hard limit needs CAP_SYS_RESOURCE: keep the highest allowed.
      r.t.call('prlimit64', SYS.prlimit64, 0, i, 0, cur);
      const got = r.s.read(cur, 16);
      const hardNow = got.readBigUInt64LE(8);
      const want = BigInt(soft) < hardNow ? BigInt(soft) : hardNow;
      b.writeBigUInt64LE(want, 0);
      b.writeBigUInt64LE(hardNow, 8);
      r.t.syscall(SYS.prlimit64, 0, i, r.s.put(b), 0);
      notices.push(`resource limit ${i}: could not raise to ${soft}/${hard}, kept ${want}/${hardNow}`);
    }
  });
  return notices;
}

const CAP_LAST = 40; // CAP_CHECKPOINT_RESTORE; /proc/sys/kernel/cap_last_cap says more on newer kernels
const PR_CAPBSET_DROP = 24;
const PR_SET_KEEPCAPS = 8;
const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const NR_capset = 126;
const SYS_setfsuid = 122;
const SYS_setfsgid = 123;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/**
 * Credentials come last: everything privileged is done by then. The
 * syscalls change the calling thread only, so every thread makes them:
 * the bounding set shrunk (while ckpt's root still may), uids and gids kept
 * across with keepcaps, then the three capability sets, the ambient ones,
 * and no_new_privs last.
 */
export function restoreCredentials(r: Remote, p: ProcessState, isRoot = false): void {
  const caps = p.caps;
  if (caps) {
    const bnd = BigInt('0x' + caps.bnd);
    for (let c = 0; c <= lastCap(); c++) if (!((bnd >> BigInt(c)) & 1n)) r.t.call(`prctl(PR_CAPBSET_DROP, ${c})`, SYS.prctl, PR_CAPBSET_DROP, c, 0, 0, 0);
    r.t.call('prctl(PR_SET_KEEPCAPS)', SYS.prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0);
  }
  const groups = Buffer.alloc(4 * Math.max(1, p.groups.length));
  p.groups.forEach((g, i) => groups.writeUInt32LE(g, i * 4));
  r.t.call('setgroups', SYS.setgroups, p.groups.length, r.s.put(groups));
  r.t.call('setresgid', SYS.setresgid, p.gid[0], p.gid[1], p.gid[2]);
  // The filesystem ids follow the effective ones unless the process set them
  // apart: fsgid while still privileged, fsuid after setresuid (which resets it).
  r.t.syscall(SYS_setfsgid, p.gid[3]);
  r.t.call('setresuid', SYS.setresuid, p.uid[0], p.uid[1], p.uid[2]);
  r.t.syscall(SYS_setfsuid, p.uid[3]);
  if (caps) {
    r.t.call('prctl(PR_SET_KEEPCAPS, 0)', SYS.prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(LINUX_CAPABILITY_VERSION_3, 0);
    const data = Buffer.alloc(24); // two {effective, permitted, inheritable} u32 triples: low 32 bits, then high
    const set = (hex: string, at: number) => {
      const v = BigInt('0x' + hex);
      data.writeUInt32LE(Number(v & 0xffffffffn), at);
      data.writeUInt32LE(Number(v >> 32n), at + 12);
    };
    set(caps.eff, 0);
    set(caps.prm, 4);
    set(caps.inh, 8);
    r.t.call('capset', NR_capset, r.s.put(head), r.s.put(data));
    const amb = BigInt('0x' + caps.amb);
    for (let c = 0; c <= lastCap(); c++) if ((amb >> BigInt(c)) & 1n) r.t.call(`prctl(PR_CAP_AMBIENT_RAISE, ${c})`, SYS.prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
  }
  if (p.noNewPrivs) r.t.call('prctl(PR_SET_NO_NEW_PRIVS)', SYS.prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  // Last: a change of credentials clears the parent-death signal.
  if (p.pdeathSig && !isRoot) r.t.call('prctl(PR_SET_PDEATHSIG)', SYS.prctl, PR.SET_PDEATHSIG, p.pdeathSig, 0, 0, 0);
}

function lastCap(): number {
  try { return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim()); } catch { return CAP_LAST; }
}
