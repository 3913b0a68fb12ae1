// HTTP helpers of the fast-start part: a free port, one GET, and polling a
// server until it gives its first answer.
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { sleep } from './common.mjs';

/**
 * GET /item/7 on a fresh connection every 2 ms until one succeeds: returns the
 * time since t0, the answer, the number of tries and any errors other than
 * "connection refused" (none expected). check() throws if waiting is hopeless.
 */
export async function firstAnswer(port, t0, what, check) {
  const deadline = t0 + 60_000;
  const odd = [];
  for (let tries = 1; ; tries++) {
    let last;
    try {
      const body = await getJson(port, '/item/7');
      return { ms: performance.now() - t0, body, tries, odd };
    } catch (e) {
      last = e;
      if (e.code !== 'ECONNREFUSED') odd.push(e.code ?? e.message);
    }
    check();
    if (performance.now() > deadline) throw new Error(`${what}: no answer on 127.0.0.1:${port} after 60 s (last error: ${last.message})`);
    await sleep(2);
  }
}

/** One GET on a fresh connection (agent: false, so nothing stays open in the server); resolves with the parsed JSON of a 200. */
function getJson(port, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s) => { body += s; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} for ${path}`));
        try { resolve(JSON.parse(body)); } catch (e) { reject(e); }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within 10 s for ${path}`), { code: 'TIMEOUT' })));
  });
}

/**
 * A TCP port free on 127.0.0.1, below the kernel's ephemeral range: between
 * runs nobody listens on it, and a port from that range could meanwhile be
 * taken by some other program's listen(0) or outgoing connection.
 */
export async function freePort() {
  let low = 32768;
  try { low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]); } catch { /* the default */ }
  const base = Math.max(1024, Math.min(20000, low - 2000));
  const span = low - base;
  for (let i = 0; i < 100; i++) {
    const port = span > 0 ? base + Math.floor(Math.random() * span) : 0;
    const got = await new Promise((resolve) => {
      const s = net.createServer();
      s.on('error', () => resolve(undefined));
      s.listen(port, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    });
    if (got) return got;
  }
  throw new Error('no free TCP port on 127.0.0.1');
}
