// Multi-threaded programs and the fd kinds of event-loop programs: threads,
// eventfd, pipes, epoll, timerfd, signalfd, TCP listening sockets, and a
// real Node.js HTTP server checkpointed and restored serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Lab, compile, waitLine, until, waitGone, readLog, EXIT, tail } from './harness.js';

const T = { timeout: 240_000 };

test('8 threads on a mutex and condition variable, plus a sleeping thread: all go on, totals consistent', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('threads'));
  const { image } = await lab.roundTrip(w, { before: 5, more: 8 });
  const info = JSON.parse((await lab.ckptOk(['info', image, '--json'])).stdout);
  assert.equal(info.threads.length, 10);
  assert.ok(info.threads.some((th: { name: string }) => th.name === 'worker7'));
});

test('eventfd, pipe with data in flight, epoll, timerfd and signalfd survive a checkpoint', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('fdkinds'));
  const { image } = await lab.roundTrip(w, { before: 3, more: 3 });
  const info = JSON.parse((await lab.ckptOk(['info', image, '--json'])).stdout);
  const kinds = info.files.map((f: { kind: string }) => f.kind);
  for (const k of ['eventfd', 'pipe', 'epoll', 'timerfd', 'signalfd']) assert.ok(kinds.includes(k), `no ${k} in ${kinds}`);
});

test('unix sockets: stream and datagram pairs with data in flight, path and abstract listeners', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('unixsock'), [lab.dir]);
  const { image } = await lab.roundTrip(w, { before: 3, more: 3 });
  const info = JSON.parse((await lab.ckptOk(['info', image, '--json'])).stdout);
  assert.equal(info.files.filter((f: { kind: string }) => f.kind === 'unix-socket').length, 6);
});

test('inotify (with a gap in watch numbers) and a sealed memfd', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('watch_memfd'), [lab.dir]);
  await lab.roundTrip(w, { before: 3, more: 3 });
});

interface Answer { n: number; ticks: number; big: number; last: string; pid: number }

/** One request on a fresh connection (no keep-alive: a pooled socket would outlive the server). */
function get(port: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body) as Answer); } catch (e) { reject(e); } });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

test('a Node.js HTTP server: restored 5 times, it answers on the same port with the next counter value, timers firing', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(process.execPath, [new URL('../../../test/workloads/server.cjs', import.meta.url).pathname]);
  const port = Number((await waitLine(w.log, /^port (\d+)$/))[1]);
  let expect = 1;
  const first = await get(port);
  assert.equal(first.n, expect);
  for (let round = 0; round < 5; round++) {
    const image = lab.path(`server${round}.ckpt`);
    // A client's connection may still be open on the server side: it comes back closed.
    await lab.ckptOk(['dump', String(round === 0 ? w.pid : first.pid), '-o', image, '--kill', '--tcp-close']);
    await waitGone(first.pid);
    await assert.rejects(get(port)); // nobody listens while it is checkpointed
    const r = await lab.restoreDetached(image);
    assert.equal(r.pid, first.pid);
    const a = await get(port);
    expect++;
    assert.equal(a.n, expect, 'the counter goes on');
    assert.equal(a.pid, first.pid);
    assert.equal(a.big, 200000);
    assert.equal(a.last, 'value-199999');
    const ticksThen = a.ticks;
    await until('the setInterval timer to fire after restore', async () => {
      const b = await get(port);
      expect++;
      return b.ticks > ticksThen;
    });
  }
  lab.stop();
  await until('the server to see the stop file', () => /^done$/m.test(readLog(w.log)), { detail: () => tail(w.log) });
});

test('an established TCP connection blocks the dump, unless --tcp-close', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(process.execPath, ['-e', `
    const net = require('net');
    const srv = net.createServer((c) => { c.on('data', (d) => c.write(d)); c.on('end', () => console.log('peer closed')); });
    srv.listen(0, '127.0.0.1', () => {
      const c = net.connect(srv.address().port, '127.0.0.1', () => console.log('port ' + srv.address().port));
      c.on('close', () => console.log('client closed'));
    });
    setInterval(() => {}, 1000);
  `]);
  await waitLine(w.log, /^port \d+$/);
  const r = await lab.ckpt(['dump', String(w.pid), '-o', lab.path('x.ckpt')]);
  assert.equal(r.code, EXIT.KIND_UNSUPPORTED, r.stderr);
  assert.match(r.stderr, /established TCP connection 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/);
  assert.deepEqual(lab.files().filter((f) => f.endsWith('.ckpt') || f.includes('.tmp')), []);
  await lab.ckptOk(['dump', String(w.pid), '-o', lab.path('x.ckpt'), '--kill', '--tcp-close']);
  await waitGone(w.pid);
  await lab.restoreDetached(lab.path('x.ckpt'));
  await waitLine(w.log, /^client closed$/);
});
