// Socket queries ckpt makes on its own copy of a target's socket
// (pidfd_getfd): options, addresses. Typed wrappers over the raw syscalls.
import { addr, syscallRaw } from './libc.js';
import { check } from './errno.js';

export const NR = { socket: 41, connect: 42, bind: 49, listen: 50, getsockname: 51, getpeername: 52, socketpair: 53, setsockopt: 54, getsockopt: 55, pidfd_open: 434, pidfd_getfd: 438 } as const;
export const SOL_SOCKET = 1;
export const SO = { REUSEADDR: 2, TYPE: 3, BROADCAST: 6, SNDBUF: 7, RCVBUF: 8, KEEPALIVE: 9, REUSEPORT: 15, ACCEPTCONN: 30, PROTOCOL: 38, DOMAIN: 39 } as const;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const TCP_NODELAY = 1;
export const IPV6_V6ONLY = 26;
export const AF = { UNIX: 1, INET: 2, INET6: 10 } as const;

/** A copy of another process's fd, in ckpt. */
export function grabFd(pid: number, fd: number): number {
  const pidfd = check('pidfd_open', syscallRaw(NR.pidfd_open, pid, 0), `pid ${pid}`);
  try {
    return check('pidfd_getfd', syscallRaw(NR.pidfd_getfd, pidfd, fd, 0), `fd ${fd} of pid ${pid}`);
  } finally {
    syscallRaw(3, pidfd);
  }
}

export function getsockoptInt(fd: number, level: number, name: number): number | undefined {
  const v = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4, 0);
  const r = syscallRaw(NR.getsockopt, fd, level, name, addr(v), addr(len));
  return r < 0 ? undefined : v.readInt32LE(0);
}

function sockaddr(nr: number, fd: number): Buffer | undefined {
  const b = Buffer.alloc(128);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(128, 0);
  const r = syscallRaw(nr, fd, addr(b), addr(len));
  return r < 0 ? undefined : b.subarray(0, len.readUInt32LE(0));
}

export const getsockname = (fd: number) => sockaddr(NR.getsockname, fd);
export const getpeername = (fd: number) => sockaddr(NR.getpeername, fd);

/** "127.0.0.1:8080", "[::1]:80", "/path", "@abstract" */
export function formatSockaddr(b: Buffer | undefined): string {
  if (!b || b.length < 2) return '(none)';
  const family = b.readUInt16LE(0);
  if (family === AF.INET) return `${[...b.subarray(4, 8)].join('.')}:${b.readUInt16BE(2)}`;
  if (family === AF.INET6) {
    const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(8 + i * 2).toString(16));
    return `[${words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${b.readUInt16BE(2)}`;
  }
  if (family === AF.UNIX) {
    if (b.length <= 2) return '(unnamed)';
    if (b[2] === 0) return '@' + b.subarray(3).toString('latin1');
    return b.subarray(2).toString('latin1').replace(/\0.*$/s, '');
  }
  return `(family ${family})`;
}
