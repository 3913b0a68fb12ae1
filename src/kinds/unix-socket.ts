// Unix sockets: pairs with both ends in the tree (socketpair, or a
// connection accepted from its own listener), in one process or two, with
// the data in flight;
// listening sockets on a path or an abstract name; bound or unbound datagram
// sockets, and datagram sockets connected to a named socket outside (like
// /dev/log), which are connected again. A stream connected outside the
// tree comes back with its peer gone (closed), with a notice.
import * as v from 'valibot';
import { lstatSync, unlinkSync, chmodSync, chownSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { SYS, O, addr, syscallRaw, close } from '../sys/index.js';
import { grabFd, getsockoptInt, getsockname, getpeername, formatSockaddr, NR, SOL_SOCKET, SO, AF } from '../sys/socket.js';
import { unixDiag } from '../sys/sock-diag.js';
import type { FdKind } from './types.js';

const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SO_PEEK_OFF = 42;
const MSG_PEEK = 2;
const MSG_DONTWAIT = 0x40;
const NR_sendto = 44;
const TCP_LISTEN = 10;

const State = v.object({
  type: v.pipe(v.number(), v.integer()),
  flags: v.pipe(v.number(), v.integer()),
  /** Local sockaddr (base64), '' when unnamed. */
  name: v.string(),
  listening: v.boolean(),
  backlog: v.pipe(v.number(), v.integer()),
  /** Both ends in the process: the pair's key and which end this is. */
  pair: v.nullable(v.object({ key: v.string(), first: v.boolean() })),
  /** Messages queued for this end to read (stream: one chunk), base64. */
  queued: v.array(v.string()),
  /** A datagram socket's peer outside the process, to connect to again (base64 sockaddr). */
  peer: v.string(),
  /** A stream whose peer is gone or outside the process, restored closed. */
  closed: v.boolean(),
  /** sk_shutdown (2.0): 1 receive, 2 send shut down (a pair's ends mirror each other). */
  shutdown: v.optional(v.number(), 0),
  /** The socket file of a name bound on a path: its mode and owner (2.0). */
  file: v.optional(v.object({ mode: v.number(), uid: v.number(), gid: v.number() })),
});
type State = v.InferOutput<typeof State>;

const NR_recvmsg = 47;
const SCM_RIGHTS = 1;
const NR_shutdown = 48;
const SHUT_WR = 1;
const SEND_SHUTDOWN = 2;

/**
 * Every message waiting in the socket, without taking it (MSG_PEEK, stepping
 * with SO_PEEK_OFF). File descriptors in flight (SCM_RIGHTS) cannot be saved
 * yet: they are refused by name rather than dropped.
 */
function peekAll(fd: number, type: number, hint: number, where: string): Buffer[] {
  const buf = Buffer.alloc(Math.max(hint, 1 << 16) + 1);
  const control = Buffer.alloc(4096);
  const iov = Buffer.alloc(16);
  iov.writeBigUInt64LE(addr(buf), 0);
  iov.writeBigUInt64LE(BigInt(buf.length), 8);
  const msg = Buffer.alloc(56);
  msg.writeBigUInt64LE(addr(iov), 16);
  msg.writeBigUInt64LE(1n, 24);
  msg.writeBigUInt64LE(addr(control), 32);
  const out: Buffer[] = [];
  const off = Buffer.alloc(4);
  syscallRaw(NR.setsockopt, fd, SOL_SOCKET, SO_PEEK_OFF, addr(off), 4);
  try {
    for (let i = 0; i < 100_000; i++) {
      msg.writeBigUInt64LE(BigInt(control.length), 40);
      const n = syscallRaw(NR_recvmsg, fd, addr(msg), MSG_PEEK | MSG_DONTWAIT);
      if (n <= 0) break;
      refuseFdsInFlight(control, Number(msg.readBigUInt64LE(40)), where);
      out.push(Buffer.from(buf.subarray(0, n)));
    }
  } finally {
    off.writeInt32LE(-1, 0);
    syscallRaw(NR.setsockopt, fd, SOL_SOCKET, SO_PEEK_OFF, addr(off), 4);
  }
  // A stream gives its bytes back as one chunk.
  return type === SOCK_STREAM && out.length > 1 ? [Buffer.concat(out)] : out;
}

/** Peeking installed the fds in flight in ckpt: close them, and refuse. */
function refuseFdsInFlight(control: Buffer, len: number, where: string): void {
  let found = false;
  for (let at = 0; at + 16 <= len; ) {
    const clen = Number(control.readBigUInt64LE(at));
    if (clen < 16) break;
    if (control.readInt32LE(at + 8) === SOL_SOCKET && control.readInt32LE(at + 12) === SCM_RIGHTS) {
      found = true;
      for (let k = at + 16; k + 4 <= at + clen; k += 4) close(control.readInt32LE(k));
    }
    at += (clen + 7) & ~7;
  }
  if (found) throw new CkptError('KIND_UNSUPPORTED', `${where}: file descriptors in flight in a unix socket (SCM_RIGHTS; not supported yet)`, { kind: 'unix-socket' });
}

export const unixSocket: FdKind<State> = {
  tag: 'unix-socket',
  schema: State,
  detect(f) {
    if (!f.link.startsWith('socket:')) return false;
    const d = unixDiag(f.stat.ino);
    return d !== undefined;
  },
  dump(f, ctx) {
    const d = unixDiag(f.stat.ino);
    if (!d) throw new CkptError('TARGET_GONE', `fd ${f.fd}: the unix socket vanished`);
    const mine = grabFd(f.pid, f.fd);
    try {
      const type = getsockoptInt(mine, SOL_SOCKET, SO.TYPE) ?? d.type;
      const local = getsockname(mine);
      const named = local !== undefined && local.length > 2;
      const base: State = {
        type, flags: f.info.flags, name: named ? local!.toString('base64') : '', listening: d.state === TCP_LISTEN,
        backlog: d.state === TCP_LISTEN ? d.wqueue : 0, pair: null, queued: [], peer: '', closed: false, shutdown: 0,
      };
      if (named && local![2] !== 0) {
        // A path (not an abstract name): the socket file's mode and owner come back with it.
        try {
          const st = lstatSync(formatSockaddr(local));
          if (st.isSocket()) base.file = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
        } catch { /* removed since: nothing to keep */ }
      }
      if (base.listening) {
        // Connections waiting to be accepted would vanish on restore (their clients left hanging): refused.
        if (d.rqueue > 0) {
          throw new CkptError('KIND_UNSUPPORTED', `process ${f.pid} fd ${f.fd}: a unix socket listening on ${formatSockaddr(local)} with ${d.rqueue} connection${d.rqueue > 1 ? 's' : ''} waiting to be accepted (not supported yet)`, { fd: f.fd, kind: 'unix-socket' });
        }
        return base;
      }
      const peerFd = d.peerIno ? f.tree.find((p) => p.stat.ino === d.peerIno && p.link.startsWith('socket:')) : undefined;
      if (peerFd) {
        const [a, b] = [f.stat.ino, d.peerIno].sort((x, y) => x - y);
        return { ...base, shutdown: d.shutdown, pair: { key: `${a}-${b}`, first: f.stat.ino === a }, queued: peekAll(mine, type, d.rqueue, `process ${f.pid} fd ${f.fd}`).map((m) => m.toString('base64')) };
      }
      if (type === SOCK_DGRAM) {
        const peer = getpeername(mine);
        return { ...base, peer: peer && peer.length > 2 ? peer.toString('base64') : '' };
      }
      // Bytes its peer sent before it went away are still to be read, then end-of-file.
      const queued = d.rqueue > 0 ? peekAll(mine, type, d.rqueue, `process ${f.pid} fd ${f.fd}`).map((m) => m.toString('base64')) : [];
      if (d.peerIno === 0 && d.state !== 1 && !queued.length) return base; // an unconnected stream socket
      if (d.peerIno !== 0) {
        ctx.notices.push(`process ${f.pid} fd ${f.fd}: a unix stream connection to ${formatSockaddr(getpeername(mine)) || 'a process'} outside the tree; restored with its peer gone (reads see end-of-file, writes fail with EPIPE)`);
      }
      return { ...base, closed: true, queued };
    } finally {
      close(mine);
    }
  },
  restore(s, ctx, fd) {
    const t = ctx.tracee;
    const flags = s.flags & (O.NONBLOCK | O.CLOEXEC);
    if (s.pair || s.closed) {
      // The first end restored makes the pair; ckpt keeps both ends, and the
      // other end (maybe in another process of the tree) is given from there.
      const key = s.pair ? `unix:${s.pair.key}` : '';
      const me = s.closed || s.pair!.first ? 0 : 1;
      let ends = key ? ctx.objects.get(key) : undefined;
      let fd: number;
      if (ends) {
        fd = ctx.give(ends[me]);
      } else {
        const at = ctx.scratch.alloc(8);
        t.call('socketpair', NR.socketpair, AF.UNIX, s.type | O.CLOEXEC, 0, at);
        const b = ctx.scratch.read(at, 8);
        const pair = [b.readInt32LE(0), b.readInt32LE(4)];
        ends = [ctx.take(pair[0]), ctx.take(pair[1])];
        if (key) ctx.objects.set(key, ends);
        fd = pair[me];
        t.call('close', SYS.close, pair[1 - me]); // (a closed stream: ckpt's copy of the peer goes at the end)
      }
      if (s.queued.length) sendThrough(ends[1 - me], s.queued.map((q) => Buffer.from(q, 'base64')));
      // Shut down once every byte is back in (the peer's bytes come with its own record, maybe later).
      // A stream's shutdown shows on both ends (one end's send is the other's receive): its
      // send side says it all. A datagram socket's is its own: both sides as they were.
      const how = s.type === SOCK_DGRAM ? s.shutdown - 1 : s.shutdown & SEND_SHUTDOWN ? SHUT_WR : -1;
      if (how >= 0) {
        const mine = ends[me];
        ctx.afterFiles.push(() => { syscallRaw(NR_shutdown, mine, how); });
      }
      t.call('fcntl(F_SETFL)', SYS.fcntl, fd, 4, flags & O.NONBLOCK);
      return fd;
    }
    const sock = t.call('socket(AF_UNIX)', NR.socket, AF.UNIX, s.type | flags, 0);
    if (s.name) {
      const sa = Buffer.from(s.name, 'base64');
      const path = formatSockaddr(sa);
      // The socket file of the process that was checkpointed is still there: a new bind needs it gone.
      if (!path.startsWith('@')) {
        try { if (lstatSync(path).isSocket()) unlinkSync(path); } catch { /* not there */ }
      }
      const r = t.syscall(NR.bind, sock, ctx.scratch.put(sa), sa.length);
      if (r < 0) throw new CkptError('IO', `cannot bind unix socket ${path} again (errno ${-r})`, { path });
      if (s.file && !path.startsWith('@')) {
        chownSync(path, s.file.uid, s.file.gid);
        chmodSync(path, s.file.mode);
      }
    }
    if (s.listening) t.call('listen', NR.listen, sock, s.backlog || 128);
    if (s.peer) {
      const sa = Buffer.from(s.peer, 'base64');
      const r = t.syscall(NR.connect, sock, ctx.scratch.put(sa), sa.length);
      if (r < 0) ctx.notices.push(`unix datagram socket could not reconnect to ${formatSockaddr(sa)} (errno ${-r}); left unconnected`);
    }
    return sock;
  },
  describe(s) {
    const kind = s.type === SOCK_STREAM ? 'stream' : s.type === SOCK_DGRAM ? 'datagram' : 'seqpacket';
    const name = s.name ? formatSockaddr(Buffer.from(s.name, 'base64')) : 'unnamed';
    if (s.listening) return `unix ${kind} socket listening on ${name}`;
    if (s.pair) return `unix ${kind} socket, one end of pair ${s.pair.key}, ${s.queued.reduce((n, q) => n + Buffer.from(q, 'base64').length, 0)} bytes queued`;
    if (s.closed) return `unix ${kind} connection (restored closed)`;
    if (s.peer) return `unix ${kind} socket ${name} connected to ${formatSockaddr(Buffer.from(s.peer, 'base64'))}`;
    return `unix ${kind} socket ${name}`;
  },
};

/** Queue messages for the other end to read, sent by ckpt through its own copy of the sending end. */
function sendThrough(mine: number, messages: Buffer[]): void {
  for (const m of messages) {
    const n = syscallRaw(NR_sendto, mine, addr(m), m.length, MSG_DONTWAIT, 0, 0);
    if (n !== m.length) throw new CkptError('IO', `cannot put ${m.length} bytes back into a unix socket (got ${n})`);
  }
}
