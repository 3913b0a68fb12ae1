// Cross-process memory through process_vm_readv/writev: one copy, no ptrace
// word loop. Large requests are split (LINUX-NOTES: 1-8 MiB chunks are fastest).
import { addr, syscallRaw } from './libc.js';
import { check } from './errno.js';
import { SYS } from './constants.js';

const CHUNK = 8 << 20;

function iov(base: bigint | number, len: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(base), 0);
  b.writeBigUInt64LE(BigInt(len), 8);
  return b;
}

/** Read `len` bytes at `remote` into `into` (at `at`); returns bytes read (short on an unmapped page). */
export function readInto(pid: number, remote: number, into: Buffer, at = 0, len = into.length - at): number {
  let done = 0;
  while (done < len) {
    const n = Math.min(CHUNK, len - done);
    const local = iov(addr(into) + BigInt(at + done), n);
    const rem = iov(remote + done, n);
    const r = syscallRaw(SYS.process_vm_readv, pid, addr(local), 1, addr(rem), 1, 0);
    if (r < 0) {
      if (done > 0) return done;
      check('process_vm_readv', r, `pid ${pid} at 0x${(remote + done).toString(16)}`);
    }
    if (r === 0) return done;
    done += r;
    if (r < n) return done;
  }
  return done;
}

export function read(pid: number, remote: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const n = readInto(pid, remote, b);
  if (n !== len) throw new Error(`short read of ${len} bytes at 0x${remote.toString(16)} in pid ${pid}: got ${n}`);
  return b;
}

export function write(pid: number, remote: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) {
    const n = Math.min(CHUNK, data.length - done);
    const local = iov(addr(data) + BigInt(done), n);
    const rem = iov(remote + done, n);
    const r = check('process_vm_writev', syscallRaw(SYS.process_vm_writev, pid, addr(local), 1, addr(rem), 1, 0), `pid ${pid} at 0x${(remote + done).toString(16)}`);
    if (r === 0) throw new Error(`process_vm_writev wrote nothing at 0x${(remote + done).toString(16)}`);
    done += r;
  }
}
