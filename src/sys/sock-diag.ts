// NETLINK_SOCK_DIAG for unix sockets: what only the kernel knows about a
// socket — its peer's inode, its state, its queue lengths.
import { addr, syscallRaw } from './libc.js';
import { check } from './errno.js';
import { close } from './process.js';
import { SYS } from './constants.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 1;
const NLMSG_ERROR = 2;
const UDIAG_SHOW_NAME = 1;
const UDIAG_SHOW_PEER = 4;
const UDIAG_SHOW_RQLEN = 0x10;
const UNIX_DIAG_PEER = 2;
const UNIX_DIAG_RQLEN = 4;
const UNIX_DIAG_SHUTDOWN = 6;

export interface UnixDiag {
  type: number;
  /** TCP-style state: 10 listening, 1 connected, 7 unconnected. */
  state: number;
  peerIno: number;
  /** For a listener: connections waiting / backlog. Otherwise: bytes to read / bytes queued to send. */
  rqueue: number;
  wqueue: number;
  /** sk_shutdown: 1 receive side, 2 send side shut down. */
  shutdown: number;
}

export function unixDiag(ino: number): UnixDiag | undefined {
  const nl = check('socket(NETLINK_SOCK_DIAG)', syscallRaw(41, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  try {
    const req = Buffer.alloc(16 + 24);
    req.writeUInt32LE(req.length, 0);
    req.writeUInt16LE(SOCK_DIAG_BY_FAMILY, 4);
    req.writeUInt16LE(NLM_F_REQUEST, 6);
    req.writeUInt32LE(1, 8);
    req[16] = 1; // AF_UNIX
    req.writeUInt32LE(0xffffffff, 20); // all states
    req.writeUInt32LE(ino, 24);
    req.writeUInt32LE(UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN, 28);
    req.writeUInt32LE(0xffffffff, 32); // no cookie
    req.writeUInt32LE(0xffffffff, 36);
    check('write(sock_diag)', syscallRaw(SYS.write, nl, addr(req), req.length));
    const res = Buffer.alloc(8192);
    const n = check('read(sock_diag)', syscallRaw(SYS.read, nl, addr(res), res.length));
    if (n < 16 + 16 || res.readUInt16LE(4) === NLMSG_ERROR) return undefined;
    const msgLen = Math.min(n, res.readUInt32LE(0));
    const d: UnixDiag = { type: res[17], state: res[18], peerIno: 0, rqueue: 0, wqueue: 0, shutdown: 0 };
    for (let at = 32; at + 4 <= msgLen; ) {
      const len = res.readUInt16LE(at);
      const type = res.readUInt16LE(at + 2);
      if (len < 4) break;
      if (type === UNIX_DIAG_PEER) d.peerIno = res.readUInt32LE(at + 4);
      if (type === UNIX_DIAG_RQLEN) { d.rqueue = res.readUInt32LE(at + 4); d.wqueue = res.readUInt32LE(at + 8); }
      if (type === UNIX_DIAG_SHUTDOWN) d.shutdown = res[at + 4];
      at += (len + 3) & ~3;
    }
    return d;
  } finally {
    close(nl);
  }
}
