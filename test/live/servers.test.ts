// Real, unmodified servers checkpointed with `dump --kill`, restored, and
// checked from the outside over new TCP connections: a Python asyncio server
// (test/workloads/asyncio_server.py) and Debian's redis-server (no
// persistence: what it serves after the restore comes from restored memory).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Lab, python3, run, waitLine, until, waitGone, readLog, tail, exeOf, isAlive, describeRun, WORKLOADS, type RunResult } from './harness.js';

const T = { timeout: 240_000 };

// ---------------------------------------------------------------------------
// Talking to a server, and watching its descriptors.

/** One TCP connection speaking a line protocol: a request line, one reply line. */
class LineClient {
  private buf = '';
  private readonly waiting: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;
  readonly closed: Promise<void>;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0 && this.waiting.length > 0; i = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, i).replace(/\r$/, '');
        this.buf = this.buf.slice(i + 1);
        this.waiting.shift()!.resolve(line);
      }
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const w of this.waiting.splice(0)) w.reject(e);
    };
    sock.on('error', fail);
    sock.on('end', () => fail(new Error('the server closed the connection')));
    this.closed = new Promise((resolve) => sock.on('close', () => resolve()));
  }

  static connect(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      sock.setTimeout(20_000, () => sock.destroy(new Error(`no answer from 127.0.0.1:${port} within 20 s`)));
      sock.once('error', reject);
      sock.once('connect', () => { sock.off('error', reject); resolve(new LineClient(sock)); });
    });
  }

  request(line: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(`${line}\n`);
    });
  }

  /** Close our side and wait until the socket is fully closed. */
  async close(): Promise<void> {
    this.sock.end();
    await this.closed;
  }
}

/** Whether something accepts connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** A TCP port that is free right now (the kernel's pick, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** What a socket inode of process `pid` is, from /proc/PID/net/{unix,tcp,tcp6,udp,udp6}. */
function socketKinds(pid: number): Map<string, string> {
  const kinds = new Map<string, string>();
  const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'];
  const rows = (f: string) => { try { return readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/)); } catch { return []; } };
  for (const c of rows('unix')) {
    const type = ({ '0001': 'stream', '0002': 'dgram', '0005': 'seqpacket' } as Record<string, string>)[c[4]] ?? `type ${c[4]}`;
    kinds.set(c[6], `unix ${type}, ${c[7] ? c[7] : 'unnamed (socketpair or unbound)'}`);
  }
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    for (const c of rows(proto)) kinds.set(c[9], `${proto} ${c[1]} -> ${c[2]} ${proto.startsWith('tcp') ? TCP_STATES[parseInt(c[3], 16)] ?? c[3] : ''}`.trim());
  }
  return kinds;
}

/** The descriptors of a process, as `ls -l /proc/PID/fd` would show them (sockets with their kind). */
function fdListing(pid: number): string {
  try {
    const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
    const kinds = socketKinds(pid);
    return fds.map((fd) => {
      try {
        const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const ino = /^socket:\[(\d+)\]$/.exec(l)?.[1];
        return `  ${fd} -> ${l}${ino ? ` (${kinds.get(ino) ?? 'other family'})` : ''}`;
      } catch {
        return `  ${fd} -> ?`;
      }
    }).join('\n');
  } catch (e) {
    return `  (cannot list /proc/${pid}/fd: ${(e as Error).message})`;
  }
}

/** How many sockets the process has open. */
function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try { if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++; } catch { /* closed meanwhile */ }
  }
  return n;
}

/** Wait until the server has no more sockets than `base` (its listening ones): every client connection closed on its side. */
function waitConnectionsClosed(pid: number, base: number): Promise<true> {
  return until(`process ${pid} to close its client connections (back to ${base} sockets)`, () => socketCount(pid) <= base, {
    detail: () => fdListing(pid),
  });
}

/**
 * `ckpt dump PID -o IMG --kill ...`, then wait until the PID is free. On
 * failure, the message has ckpt's output (what blocks the dump) and the
 * process's descriptors.
 */
async function dumpKill(lab: Lab, pid: number, image: string, extra: string[] = []): Promise<RunResult> {
  const args = ['dump', String(pid), '-o', image, '--kill', ...extra];
  const listing = fdListing(pid);
  const r = await lab.ckpt(args);
  assert.equal(r.code, 0, `${describeRun(args, r)}\n--- /proc/${pid}/fd at the dump ---\n${listing}`);
  await waitGone(pid);
  return r;
}

/** Run a program with `input` on its stdin (bounded). */
function runWithInput(cmd: string, args: string[], input: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.on('error', () => { /* reported through the exit status */ });
    child.stdin.end(input);
  });
}

/** A program on PATH, or undefined. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

/**
 * Kill `pid` when the test ends if it still runs `exe` (compared by real
 * path). For programs whose executable is not named like the command that
 * started them (Debian's redis-server is a link to redis-check-rdb), which the
 * harness's own check would take for a reused PID.
 */
function killAtEnd(t: TestContext, pid: number, exe: string): void {
  t.after(async () => {
    if (!isAlive(pid) || exeOf(pid)?.replace(/ \(deleted\)$/, '') !== exe) return;
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await until(`PID ${pid} to die`, () => !isAlive(pid), { timeoutMs: 5000 }).catch(() => undefined);
  });
}

// ---------------------------------------------------------------------------

test('a Python asyncio TCP server: its keys and counter are served again after dump --kill and restore', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await python3(), [join(WORKLOADS, 'asyncio_server.py')]);
  const port = Number((await waitLine(w.log, /^port (\d+)$/))[1]);
  const listening = socketCount(w.pid); // the listening socket and asyncio's own wakeup socketpair

  const keys: Record<string, string> = { alpha: 'one', beta: 'two-2', gamma: 'x'.repeat(3000), 'key:with:colons': 'v:1' };
  const c = await LineClient.connect(port);
  for (const [k, v] of Object.entries(keys)) assert.equal(await c.request(`SET ${k} ${v}`), 'OK');
  for (let i = 1; i <= 5; i++) assert.equal(await c.request('COUNT'), String(i));
  assert.equal(await c.request('GET alpha'), 'one');
  assert.equal(await c.request('GET nothing'), 'NIL');
  assert.equal(await c.request('QUIT'), 'BYE');
  await c.close();
  // The server has closed its side too: no established connection is left to dump.
  await waitLine(w.log, /^closed 1$/);
  await waitConnectionsClosed(w.pid, listening);

  const image = lab.path('asyncio.ckpt');
  await dumpKill(lab, w.pid, image);
  assert.equal(await accepts(port), false, 'nobody listens while the server is checkpointed');

  const r = await lab.restoreDetached(image, w.cmd);
  assert.equal(r.pid, w.pid);
  const d = await LineClient.connect(port);
  for (const [k, v] of Object.entries(keys)) assert.equal(await d.request(`GET ${k}`), v, `GET ${k} after the restore`);
  assert.equal(await d.request('COUNT'), '6', 'the counter goes on from where it was');
  assert.equal(await d.request('KEYS'), String(Object.keys(keys).length));
  assert.equal(await d.request('SET delta four'), 'OK');
  assert.equal(await d.request('SET alpha uno'), 'OK');
  assert.equal(await d.request('GET delta'), 'four');
  assert.equal(await d.request('GET alpha'), 'uno');
  assert.equal(await d.request('COUNT'), '7');
  // A second client at the same time.
  const e = await LineClient.connect(port);
  assert.equal(await e.request('GET delta'), 'four');
  assert.equal(await e.request('COUNT'), '8');
  assert.equal(await e.request('QUIT'), 'BYE');
  await e.close();
  assert.equal(await d.request('QUIT'), 'BYE');
  await d.close();
  await waitLine(w.log, /^closed 3$/);

  lab.stop();
  await until('the restored server to print "done"', () => /^done$/m.test(readLog(w.log)), { detail: () => tail(w.log) });
  assert.match(readLog(w.log), /^keys 5 count 8$/m, tail(w.log));
  await waitGone(w.pid);
  assert.doesNotMatch(readLog(w.log), /Traceback|Error/, tail(w.log));
});

test('redis-server with a few thousand keys and no persistence: same data, DBSIZE and new writes after dump --kill and restore', T, async (t) => {
  const redisServer = onPath('redis-server');
  const redisCli = onPath('redis-cli');
  if (!redisServer || !redisCli) {
    assert.fail(`redis-server and redis-cli must be on PATH for this test (missing: ${[!redisServer && 'redis-server', !redisCli && 'redis-cli'].filter(Boolean).join(', ')}); `
      + 'install them with `apt-get install redis-server` (.ci/run does)');
  }
  const redisExe = realpathSync(redisServer);
  const lab = Lab.create(t);

  // Start it on a free port (never 6379), with no RDB snapshots and no AOF.
  let w: Awaited<ReturnType<Lab['start']>> | undefined;
  let port = 0;
  for (let attempt = 1; attempt <= 5 && !w; attempt++) {
    port = await freePort();
    if (port === 6379) continue;
    const s = await lab.start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--dir', lab.dir, '--logfile', '', '--databases', '1'], { log: lab.path(`redis${attempt}.log`) });
    killAtEnd(t, s.pid, redisExe);
    const up = await until(`redis-server to accept connections on port ${port} (or exit)`, async () => {
      if (!isAlive(s.pid)) return 'exited';
      return /Ready to accept connections/.test(readLog(s.log)) && await accepts(port) ? 'up' : undefined;
    }, { detail: () => tail(s.log) });
    if (up === 'up') w = s; // else it lost the port to someone else: another one
  }
  assert.ok(w, 'redis-server would not start');
  const pid = w.pid;
  const listening = socketCount(pid);
  const cli = async (...args: string[]): Promise<string> => {
    const r = await run(redisCli, ['-h', '127.0.0.1', '-p', String(port), ...args]);
    assert.equal(r.code, 0, `redis-cli ${args.join(' ')} -> ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout.replace(/\n$/, '');
  };

  // A few thousand keys through one connection (redis-cli --pipe), closed when it is done.
  const N = 5000;
  const value = (i: number) => `value-${i}-${'abcdefghij'.repeat(i % 20)}`;
  const resp = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  let input = '';
  for (let i = 0; i < N; i++) input += resp('SET', `key:${i}`, value(i));
  input += resp('RPUSH', 'list', 'a', 'b', 'c') + resp('HSET', 'hash', 'f1', 'v1', 'f2', 'v2') + resp('INCRBY', 'counter', '41');
  const loaded = await runWithInput(redisCli, ['-h', '127.0.0.1', '-p', String(port), '--pipe'], input);
  assert.equal(loaded.code, 0, `redis-cli --pipe: ${loaded.stdout}\n${loaded.stderr}`);
  assert.match(loaded.stdout, /errors: 0, replies: 5003/, loaded.stdout);
  const total = N + 3;
  assert.equal(await cli('DBSIZE'), String(total));
  // Every client connection closed on the server's side before the dump.
  await waitConnectionsClosed(pid, listening);

  const image = lab.path('redis.ckpt');
  // --tcp-close in case a client connection were still open (it would come back closed).
  await dumpKill(lab, pid, image, ['--tcp-close']);
  assert.equal(await accepts(port), false, 'nobody listens while redis is checkpointed');

  const r = await lab.restoreDetached(image);
  assert.equal(r.pid, pid);
  assert.equal(exeOf(pid), redisExe);

  assert.equal(await cli('DBSIZE'), String(total), 'DBSIZE after the restore');
  const sample = [0, 1, 17, 999, 1234, 2500, 4321, N - 1];
  assert.deepEqual((await cli('MGET', ...sample.map((i) => `key:${i}`))).split('\n'), sample.map(value));
  assert.equal(await cli('GET', 'key:3333'), value(3333));
  assert.equal(await cli('LRANGE', 'list', '0', '-1'), 'a\nb\nc');
  assert.equal(await cli('HGET', 'hash', 'f2'), 'v2');
  assert.equal(await cli('INCR', 'counter'), '42', 'INCR goes on from the saved value');
  assert.equal(await cli('SET', 'fresh', 'after-restore'), 'OK');
  assert.equal(await cli('GET', 'fresh'), 'after-restore');
  assert.equal(await cli('SET', 'key:0', 'overwritten'), 'OK');
  assert.equal(await cli('GET', 'key:0'), 'overwritten');
  assert.equal(await cli('DEL', 'key:1'), '1');
  assert.equal(await cli('DBSIZE'), String(total), 'one key added, one deleted');
  // The data came from memory: redis was told never to write it to disk, and did not.
  assert.deepEqual(lab.files().filter((f) => /\.(rdb|aof)$|appendonly/.test(f)), []);
  // Its background threads are back and working: a lazy free (bio_lazy_free) of a big key.
  await cli('RPUSH', 'big', ...Array.from({ length: 200 }, (_, i) => `e${i}`));
  assert.equal(await cli('UNLINK', 'big'), '1');
  assert.equal(await cli('PING'), 'PONG');

  // A clean end: SHUTDOWN NOSAVE, and the process goes away.
  await run(redisCli, ['-h', '127.0.0.1', '-p', String(port), 'SHUTDOWN', 'NOSAVE']);
  await waitGone(pid);
  assert.match(readLog(w.log), /ready to exit, bye bye/, tail(w.log));
  assert.equal((readLog(w.log).match(/Server initialized/g) ?? []).length, 1, `redis started only once\n${tail(w.log)}`);
});
