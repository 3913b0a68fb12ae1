// Pseudo-terminals through the FFI (no terminal library: their own wait
// threads would swallow ptrace stops), and the tty ioctls ckpt needs.
import koffi from 'koffi';
import { addr, syscallRaw } from './libc.js';
import { check, SysError } from './errno.js';
import { SYS, O } from './constants.js';

const libc = koffi.load('libc.so.6');
const posix_openpt = libc.func('int posix_openpt(int flags)');
const grantpt = libc.func('int grantpt(int fd)');
const unlockpt = libc.func('int unlockpt(int fd)');
const ptsname_r = libc.func('int ptsname_r(int fd, _Out_ char *buf, size_t len)');

export const TIOC = { GWINSZ: 0x5413, SWINSZ: 0x5414, GPGRP: 0x540f, SPGRP: 0x5410, SCTTY: 0x540e, TCGETS: 0x5401, TCSETS: 0x5402 } as const;
/** The kernel's struct termios (36 bytes); kept as opaque bytes. */
export const TERMIOS_SIZE = 36;

export function openPty(): { master: number; slave: string } {
  const master = posix_openpt(O.RDWR | O.NOCTTY | O.CLOEXEC) as number;
  if (master < 0) throw new SysError('posix_openpt', koffi.errno() as number);
  if ((grantpt(master) as number) !== 0 || (unlockpt(master) as number) !== 0) throw new SysError('grantpt/unlockpt', koffi.errno() as number);
  const name = Buffer.alloc(128);
  const rc = ptsname_r(master, name, name.length) as number;
  if (rc !== 0) throw new SysError('ptsname_r', rc);
  return { master, slave: name.toString('latin1').replace(/\0.*$/s, '') };
}

export function getWinsize(fd: number): { rows: number; cols: number } | undefined {
  const b = Buffer.alloc(8);
  if (syscallRaw(SYS.ioctl, fd, TIOC.GWINSZ, addr(b)) < 0) return undefined;
  return { rows: b.readUInt16LE(0), cols: b.readUInt16LE(2) };
}

export function setWinsize(fd: number, rows: number, cols: number): void {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(rows, 0);
  b.writeUInt16LE(cols, 2);
  check('ioctl(TIOCSWINSZ)', syscallRaw(SYS.ioctl, fd, TIOC.SWINSZ, addr(b)));
}

/** The foreground process group of the terminal (asked on the master side). */
export function foregroundGroup(fd: number): number | undefined {
  const b = Buffer.alloc(4);
  return syscallRaw(SYS.ioctl, fd, TIOC.GPGRP, addr(b)) < 0 ? undefined : b.readInt32LE(0);
}

export function getTermios(fd: number): Buffer | undefined {
  const b = Buffer.alloc(64);
  return syscallRaw(SYS.ioctl, fd, TIOC.TCGETS, addr(b)) < 0 ? undefined : b.subarray(0, TERMIOS_SIZE);
}

export function setTermios(fd: number, t: Buffer): void {
  const b = Buffer.alloc(64);
  t.copy(b, 0, 0, TERMIOS_SIZE);
  check('ioctl(TCSETS)', syscallRaw(SYS.ioctl, fd, TIOC.TCSETS, addr(b)));
}
