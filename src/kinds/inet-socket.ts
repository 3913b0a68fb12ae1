// TCP and UDP sockets, IPv4 and IPv6: listening and bound sockets come back
// at the same address and port with their options. An established TCP
// connection cannot be kept yet: the dump refuses it, or with --tcp-close the
// program finds it closed by the peer.
import * as v from 'valibot';
import { readFileSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { SYS, O, close } from '../sys/index.js';
import { grabFd, getsockoptInt, getsockname, getpeername, formatSockaddr, NR, SOL_SOCKET, SO, IPPROTO_TCP, IPPROTO_IPV6, TCP_NODELAY, IPV6_V6ONLY, AF } from '../sys/socket.js';
import type { FdKind, FdFacts } from './types.js';

const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

const Opt = v.tuple([v.pipe(v.number(), v.integer()), v.pipe(v.number(), v.integer()), v.pipe(v.number(), v.integer())]); // level, name, value
const State = v.object({
  family: v.pipe(v.number(), v.integer()),
  type: v.pipe(v.number(), v.integer()),
  protocol: v.pipe(v.number(), v.integer()),
  flags: v.pipe(v.number(), v.integer()),
  /** sockaddr, base64; empty when unbound. */
  local: v.string(),
  peer: v.string(),
  listening: v.boolean(),
  backlog: v.pipe(v.number(), v.integer()),
  options: v.array(Opt),
  /** An established TCP connection that restore gives back closed (--tcp-close). */
  closed: v.optional(v.boolean(), false),
});
type State = v.InferOutput<typeof State>;

/** Max backlog of a listening socket: tx_queue of its /proc/net/tcp line. */
function backlogOf(ino: number, family: number): number {
  try {
    const table = readFileSync(family === AF.INET6 ? '/proc/net/tcp6' : '/proc/net/tcp', 'utf8');
    for (const line of table.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (Number(f[9]) === ino) return parseInt(f[4].split(':')[0], 16) || 511;
    }
  } catch { /* no table */ }
  return 511;
}

export const inetSocket: FdKind<State> = {
  tag: 'inet-socket',
  schema: State,
  detect(f: FdFacts) {
    if (!f.link.startsWith('socket:')) return false;
    const fam = socketFamily(f);
    return fam === AF.INET || fam === AF.INET6;
  },
  dump(f, ctx) {
    const mine = grabFd(f.pid, f.fd);
    try {
      const family = getsockoptInt(mine, SOL_SOCKET, SO.DOMAIN) ?? 0;
      const type = getsockoptInt(mine, SOL_SOCKET, SO.TYPE) ?? 0;
      const protocol = getsockoptInt(mine, SOL_SOCKET, SO.PROTOCOL) ?? 0;
      const listening = getsockoptInt(mine, SOL_SOCKET, SO.ACCEPTCONN) === 1;
      const local = getsockname(mine);
      const peer = getpeername(mine);
      let closed = false;
      if (type === SOCK_STREAM && peer && !listening) {
        if (!ctx.tcpClose) {
          throw new CkptError('KIND_UNSUPPORTED', `fd ${f.fd}: an established TCP connection ${formatSockaddr(local)} -> ${formatSockaddr(peer)} (use --tcp-close to restore it closed)`, { fd: f.fd, kind: 'tcp' });
        }
        closed = true;
      }
      if (type !== SOCK_STREAM && type !== SOCK_DGRAM) {
        throw new CkptError('KIND_UNSUPPORTED', `fd ${f.fd}: socket type ${type} of family ${family} (not supported yet)`, { fd: f.fd });
      }
      const options: Array<[number, number, number]> = [];
      const keep = (level: number, name: number) => {
        const v = getsockoptInt(mine, level, name);
        if (v !== undefined) options.push([level, name, v]);
      };
      keep(SOL_SOCKET, SO.REUSEADDR);
      keep(SOL_SOCKET, SO.REUSEPORT);
      keep(SOL_SOCKET, SO.KEEPALIVE);
      keep(SOL_SOCKET, SO.BROADCAST);
      if (type === SOCK_STREAM) keep(IPPROTO_TCP, TCP_NODELAY);
      if (family === AF.INET6) keep(IPPROTO_IPV6, IPV6_V6ONLY);
      const isBound = local !== undefined && formatSockaddr(local).replace(/.*:/, '') !== '0';
      return {
        family, type, protocol, flags: f.info.flags,
        local: isBound ? local!.toString('base64') : '',
        peer: peer && type === SOCK_DGRAM ? peer.toString('base64') : '',
        listening, backlog: listening ? backlogOf(f.stat.ino, family) : 0, options, closed,
      };
    } finally {
      close(mine);
    }
  },
  restore(s, ctx) {
    const t = ctx.tracee;
    if (s.closed) {
      // A stream whose peer has gone: one end of a pair whose other end is closed.
      const at = ctx.scratch.alloc(8);
      t.call('socketpair', NR.socketpair, AF.UNIX, SOCK_STREAM | (s.flags & (O.NONBLOCK | O.CLOEXEC)), 0, at);
      const b = ctx.scratch.read(at, 8);
      t.call('close', SYS.close, b.readInt32LE(4));
      return b.readInt32LE(0);
    }
    const fd = t.call('socket', NR.socket, s.family, s.type | (s.flags & (O.NONBLOCK | O.CLOEXEC)), s.protocol);
    for (const [level, name, value] of s.options) {
      const v = Buffer.alloc(4);
      v.writeInt32LE(value, 0);
      t.call(`setsockopt(${level}, ${name})`, NR.setsockopt, fd, level, name, ctx.scratch.put(v), 4);
    }
    if (s.local) {
      const sa = Buffer.from(s.local, 'base64');
      const r = t.syscall(NR.bind, fd, ctx.scratch.put(sa), sa.length);
      if (r < 0) {
        throw new CkptError('IO', `cannot bind ${formatSockaddr(sa)} again (errno ${-r}${r === -98 ? ': the address is in use' : ''})`, { hint: r === -98 ? 'another process has that port now' : undefined });
      }
    }
    if (s.listening) t.call('listen', NR.listen, fd, s.backlog);
    if (s.peer) {
      const sa = Buffer.from(s.peer, 'base64');
      t.call('connect', NR.connect, fd, ctx.scratch.put(sa), sa.length);
    }
    return fd;
  },
  describe: (s) => {
    const proto = s.type === SOCK_STREAM ? 'TCP' : 'UDP';
    const local = s.local ? formatSockaddr(Buffer.from(s.local, 'base64')) : 'unbound';
    if (s.closed) return `${proto} connection from ${local} (restored closed)`;
    return `${proto}${s.family === AF.INET6 ? '/IPv6' : ''} socket ${s.listening ? 'listening on' : 'bound to'} ${local}${s.peer ? ` -> ${formatSockaddr(Buffer.from(s.peer, 'base64'))}` : ''}`;
  },
};

/** The address family of a socket fd, asked through ckpt's own copy of it. */
export function socketFamily(f: FdFacts): number | undefined {
  try {
    const mine = grabFd(f.pid, f.fd);
    try { return getsockoptInt(mine, SOL_SOCKET, SO.DOMAIN); } finally { close(mine); }
  } catch {
    return undefined;
  }
}
