// Interval timers (setitimer) and POSIX timers (timer_create), with the time
// left on them and their intervals. POSIX timers keep their IDs on restore
// (PR_TIMER_CREATE_RESTORE_IDS), since programs hold those IDs in memory.
import { readFileSync } from 'node:fs';
import { SYS, PR } from '../sys/index.js';
import { parseTimers } from '../proc/timers.js';
import { CkptError } from '../errors.js';
import type { PosixTimer } from '../image/format.js';
import type { Remote } from '../tracee/remote.js';

const ITIMERS = [0, 1, 2]; // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF

const us = (b: Buffer, at: number) => b.readBigInt64LE(at) * 1_000_000n + b.readBigInt64LE(at + 8);
const ns = (b: Buffer, at: number) => b.readBigInt64LE(at) * 1_000_000_000n + b.readBigInt64LE(at + 8);

export function dumpItimers(r: Remote) {
  const at = r.s.alloc(32);
  return ITIMERS.map((which) => {
    r.t.call('getitimer', SYS.getitimer, which, at);
    const b = r.s.read(at, 32);
    return { which, intervalUs: us(b, 0).toString(), valueUs: us(b, 16).toString() };
  }).filter((x) => x.valueUs !== '0' || x.intervalUs !== '0');
}

export function restoreItimers(r: Remote, itimers: Array<{ which: number; intervalUs: string; valueUs: string }>): void {
  for (const it of itimers) {
    const b = Buffer.alloc(32);
    const put = (v: bigint, o: number) => { b.writeBigInt64LE(v / 1_000_000n, o); b.writeBigInt64LE(v % 1_000_000n, o + 8); };
    put(BigInt(it.intervalUs), 0);
    // A timer due "now" must still be armed: 0 would disarm it.
    put(BigInt(it.valueUs) > 0n ? BigInt(it.valueUs) : 1n, 16);
    r.t.call('setitimer', SYS.setitimer, it.which, r.s.put(b), 0);
  }
}

export function dumpPosixTimers(r: Remote, pid: number): PosixTimer[] {
  let text = '';
  try { text = readFileSync(`/proc/${pid}/timers`, 'utf8'); } catch { return []; }
  const at = r.s.alloc(32);
  return parseTimers(text).map((p) => {
    r.t.call('timer_gettime', SYS.timer_gettime, p.id, at);
    const b = r.s.read(at, 32);
    const overrun = r.t.syscall(222 + 3 /* timer_getoverrun */, p.id);
    return {
      id: p.id, clockId: p.clockId, signal: p.signal, value: p.value.toString(16), notify: p.notify, notifyTid: p.notifyTid,
      intervalNs: ns(b, 0).toString(), valueNs: ns(b, 16).toString(), overrun: Math.max(0, overrun),
    };
  });
}

export function restorePosixTimers(r: Remote, timers: PosixTimer[], pid: number): void {
  if (!timers.length) return;
  const restoreIds = r.t.syscall(SYS.prctl, PR.TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0) === 0;
  try {
    for (const p of [...timers].sort((a, b) => a.id - b.id)) {
      const ev = Buffer.alloc(64);
      ev.writeBigUInt64LE(BigInt('0x' + p.value), 0);
      ev.writeInt32LE(p.signal, 8);
      ev.writeInt32LE(p.notify, 12);
      ev.writeInt32LE(p.notify & 4 ? p.notifyTid || pid : 0, 16); // threads keep their TIDs
      const idAt = r.s.put(Buffer.from(new Int32Array([p.id]).buffer));
      r.t.call('timer_create', SYS.timer_create, p.clockId, r.s.put(ev), idAt);
      const got = r.s.read(idAt, 4).readInt32LE(0);
      if (got !== p.id) throw new CkptError('INTERNAL', `POSIX timer ${p.id} came back as ${got} (this kernel cannot restore timer IDs)`);
      if (p.valueNs !== '0') {
        const its = Buffer.alloc(32);
        const put = (v: bigint, o: number) => { its.writeBigInt64LE(v / 1_000_000_000n, o); its.writeBigInt64LE(v % 1_000_000_000n, o + 8); };
        put(BigInt(p.intervalNs), 0);
        put(BigInt(p.valueNs), 16);
        r.t.call('timer_settime', SYS.timer_settime, p.id, 0, r.s.put(its), 0);
      }
    }
  } finally {
    if (restoreIds) r.t.syscall(SYS.prctl, PR.TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
  }
}
