#!/usr/bin/env node
// ckpt benchmark: how fast are dump and restore, compared with what this
// machine's disk and page cache can do anyway?
//
// For each size (default 16 MiB, 256 MiB, 1 GiB) it runs a C workload
// (scripts/bench-workload.c) holding that much dirty memory, then
// `ckpt dump PID --kill` and `ckpt restore`, and checks through a SIGUSR1
// checksum that the restored memory equals the original. Times are ckpt's own
// (the `ms` / `frozenMs` fields of --json); the wall time of the whole
// `ckpt restore` command, Node start-up included, is shown for information.
//
// Right after each ckpt round it measures the machine's limit for the same
// number of bytes in the same directory: plain writeSync of 8 MiB chunks plus
// fsync (as ckpt's image writer does), then readSync of them back. The
// machine is shared and noisy, so absolute times drift from run to run; the
// ratio ckpt time / limit time, taken on neighbouring runs, is the figure to
// compare with the aims. Every figure is the median of 3 runs.
//
// Fast start (issue 3): how soon does a restored Node.js HTTP server answer,
// compared with the same server started cold? scripts/bench-server.cjs loads
// modules, reads, parses and validates a catalogue JSON of about 8 MiB
// (generated here, deterministically, before any timing), builds indexes, then
// listens. Cold start: from spawning `node bench-server.cjs PORT` to its first
// successful HTTP answer (a fresh connection tried every 2 ms). Restore: the
// server is started once, answers one request, is dumped with
// `ckpt dump PID --kill --tcp-close`; each run then times from spawning
// `ckpt restore IMG --json` (the whole command, Node start-up included) to the
// restored server's first answer, which must equal the cold server's. Cold and
// restore runs alternate, 5 of each, medians.
//
// Usage: npm run bench -- [--only memory|fast-start] [--sizes 16,256,1024] [--dir DIR] [--json]
// Needs a built ckpt (npm run build) and gcc; ptrace needs root or CAP_SYS_PTRACE.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createHash, randomFillSync } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const REPS = 3;
const MiB = 1 << 20;
const CHUNK = 8 * MiB;
const AIMS = { dumpRatio: 1.5, restoreRatio: 2, smallMs: 30, smallMiB: 16, bigMiB: 1024, fastStart: 5 };
const FAST_REPS = 5;
const SERVER = join(ROOT, 'scripts/bench-server.cjs');
const PARTS = ['memory', 'fast-start'];

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    sizes: { type: 'string', default: '16,256,1024' },
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
if (opt.only !== undefined && !PARTS.includes(opt.only)) fail(`--only wants one of ${PARTS.join(', ')}, not ${opt.only}`);
const parts = opt.only ? [opt.only] : PARTS;
const sizes = opt.sizes.split(',').map((s) => Number(s.trim()));
if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) fail(`--sizes wants MiB counts like 16,256,1024, not ${opt.sizes}`);
if (!existsSync(CLI)) fail(`${CLI} is missing: run npm run build first`);
// The restored process is a child of `ckpt restore`, which exits at once; as a
// child subreaper this script inherits it and can reap it itself.
const { setChildSubreaper, tryWait, spawn: posixSpawn, O } = await import(join(ROOT, 'dist/src/sys/index.js'));
setChildSubreaper();

const work = mkdtempSync(join(opt.dir ?? tmpdir(), 'ckpt-bench-'));
const children = new Set(); // ChildProcess objects still running
const orphans = new Set(); // restored PIDs not reaped yet
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stderr.write(s + '\n');
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(true); process.exit(130); });

try {
  const fs = fsInfo(work);
  const out = { fs: fs.type, dir: work, cpus: cpus().length, node: process.version };
  if (parts.includes('memory')) Object.assign(out, await memoryPart(fs)); // reps, results, aims
  if (parts.includes('fast-start')) out.fastStart = await fastStartPart(fs);
  if (opt.json) console.log(JSON.stringify(out));
} catch (e) {
  process.exitCode = 1;
  console.error(`bench failed: ${e.message}`);
} finally {
  cleanup(false);
}

/** Dump and restore of C workloads holding `sizes` MiB, against the machine's I/O limit. */
async function memoryPart(fs) {
  const bin = join(work, 'bench-workload');
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', bin, join(ROOT, 'scripts/bench-workload.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed:\n${cc.stderr || cc.error}`);
  log(`ckpt bench: images in ${work} (${fs.type} on ${fs.dev}, mounted at ${fs.mnt}); ${REPS} runs per size, medians`);

  const results = [];
  for (const mib of sizes) {
    const runs = [];
    for (let rep = 1; rep <= REPS; rep++) {
      const c = await ckptRound(bin, mib, join(work, `w${mib}-${rep}.ckpt`));
      const io = ioLimit(join(work, 'limit.bin'), c.size);
      runs.push({ ...c, ...io });
      log(`  ${label(mib)} run ${rep}: dump ${c.dumpMs.toFixed(1)} ms (frozen ${c.frozenMs.toFixed(1)}), write limit ${io.writeMs.toFixed(1)} ms; ` +
        `restore ${c.restoreMs.toFixed(1)} ms (command ${c.restoreCmdMs.toFixed(0)} ms), read limit ${io.readMs.toFixed(1)} ms; checksum ok`);
    }
    const med = (k) => median(runs.map((r) => r[k]));
    const m = { mib, imageBytes: med('size'), dumpMs: med('dumpMs'), frozenMs: med('frozenMs'), writeLimitMs: med('writeMs'),
      restoreMs: med('restoreMs'), readLimitMs: med('readMs'), restoreCmdMs: med('restoreCmdMs'), checksumOk: true };
    m.dumpMiBps = rate(m.imageBytes, m.dumpMs);
    m.restoreMiBps = rate(m.imageBytes, m.restoreMs);
    // Ratios of medians of the per-run ratios: each run's ckpt and limit times are neighbours in time.
    m.dumpRatio = median(runs.map((r) => r.dumpMs / r.writeMs));
    m.restoreRatio = median(runs.map((r) => r.restoreMs / r.readMs));
    results.push(m);
  }
  const aims = judge(results);
  printTable(results, aims, fs);
  return { reps: REPS, results, aims };
}

/** One checkpoint/restore round: returns ckpt's timings and the image size. */
async function ckptRound(bin, mib, img) {
  const wl = track(spawn(bin, [String(mib)], { stdio: ['ignore', 'pipe', 'ignore'] }));
  const gone = new Promise((r) => wl.once('exit', (code, sig) => r(sig ?? code)));
  const wout = reader(wl.stdout, 'workload');
  await wout(/^ready\n/m, 'ready', 120_000);
  wl.kill('SIGUSR1');
  const [, before] = await wout(/sum (\w+) \d+\n/, 'checksum of the original', 120_000);

  const dumpArgs = ['dump', String(wl.pid), '-o', img, '--kill', '--json'];
  const d = await runCkpt(dumpArgs);
  if (d.status !== 0) throw ckptFailed(dumpArgs, d.status, d.stdout, d.stderr);
  const dumped = JSON.parse(d.stdout);
  const how = await gone; // reaped by Node: the PID is free for the restore
  if (how !== 'SIGKILL') throw new Error(`workload ${wl.pid} ended with ${how}, not SIGKILL, after ckpt dump --kill`);

  const restoreArgs = ['restore', img, '--json'];
  const t0 = performance.now();
  const rc = track(spawn(process.execPath, [CLI, ...restoreArgs], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let errText = '';
  rc.stderr.setEncoding('utf8').on('data', (s) => { errText += s; });
  const rout = reader(rc.stdout, 'ckpt restore');
  const status = await ended(rc, 'exit', 300_000, `node dist/src/cli/main.js ${restoreArgs.join(' ')}`);
  const restoreCmdMs = performance.now() - t0;
  // The restored process keeps ckpt's stdout pipe: the JSON and, later, its checksum arrive on it.
  const json = await rout(/^\{[\s\S]*?\n\}\n/m, 'restore JSON', 10_000).catch(() => null);
  if (status !== 0 || !json) {
    await Promise.race([new Promise((r) => rc.stderr.once('close', r)), sleep(1000)]); // all of the error message
    throw ckptFailed(restoreArgs, status, json?.[0] ?? '', errText);
  }
  const restored = JSON.parse(json[0]);
  orphans.add(restored.pid);
  if (restored.pid !== wl.pid) throw new Error(`restored PID ${restored.pid}, expected ${wl.pid}`);
  if (restored.notices.length) log(`  restore notices: ${restored.notices.join('; ')}`);
  process.kill(restored.pid, 'SIGUSR1');
  const [, after] = await rout(/sum (\w+) \d+\n/, 'checksum of the restored process', 120_000);
  if (after !== before) throw new Error(`restored memory differs: checksum ${after}, original ${before} (image ${img})`);
  await killAndReap(restored.pid);
  unlinkSync(img);
  return { size: dumped.size, dumpMs: dumped.ms, frozenMs: dumped.frozenMs, restoreMs: restored.ms, restoreCmdMs };
}

/**
 * Issue 3: how soon a restored Node.js HTTP server answers, against the same
 * server started cold. Cold and restore runs alternate so that both see the
 * same machine load; the restored server must answer what the cold one does.
 */
async function fastStartPart(fs) {
  const data = join(work, 'catalogue.json');
  const { text, records } = catalogue();
  writeFileSync(data, text);
  const digest = createHash('sha256').update(text).digest('hex');
  const logFile = join(work, 'server.log'); // the checkpointed server's (each cold one has its own: the image's stays unchanged)
  const img = join(work, 'server.ckpt');
  const port = await freePort();
  const expect = (body, what) => {
    if (body.records !== records || body.digest !== digest) {
      throw new Error(`${what} answered ${JSON.stringify(body).slice(0, 300)}, not ${records} records with digest ${digest.slice(0, 12)}...`);
    }
  };
  log(`fast start: node ${SERVER} ${port} --data (${(text.length / MiB).toFixed(1)} MiB, ${records} records) on ${fs.type} (${fs.mnt}); ` +
    `${FAST_REPS} cold and ${FAST_REPS} restore runs, alternating`);

  // The server to checkpoint: started like a cold one, warmed by one answer.
  const warm = await coldRun(port, data, logFile, { keep: true });
  expect(warm.body, 'the server');
  const dumpArgs = ['dump', String(warm.pid), '-o', img, '--kill', '--tcp-close', '--json'];
  const d = await runCkpt(dumpArgs);
  if (d.status !== 0) {
    await killGone(warm.pid).catch(() => {});
    throw ckptFailed(dumpArgs, d.status, d.stdout, d.stderr);
  }
  const dumped = JSON.parse(d.stdout);
  await killGone(warm.pid); // already killed by --kill: reap it, so that its PID is free for the restores
  log(`  server ${warm.pid} (${warm.startup}) warm (first answer ${warm.ms.toFixed(0)} ms), dumped: ${(dumped.size / MiB).toFixed(1)} MiB image in ${dumped.ms.toFixed(1)} ms ` +
    `(frozen ${dumped.frozenMs.toFixed(1)} ms)`);

  const runs = [];
  for (let rep = 1; rep <= FAST_REPS; rep++) {
    const cold = await coldRun(port, data, join(work, `cold${rep}.log`));
    expect(cold.body, `cold server ${cold.pid}`);
    const rest = await restoreRun(img, port, warm.pid, logFile);
    expect(rest.body, `restored server ${rest.pid}`);
    for (const k of ['tags', 'cheapest', 'summaryGz', 'record']) {
      if (JSON.stringify(rest.body[k]) !== JSON.stringify(cold.body[k])) throw new Error(`the restored server's ${k} differs from the cold server's`);
    }
    if (rest.body.requests !== warm.body.requests + 1) throw new Error(`the restored server counts ${rest.body.requests} requests, expected ${warm.body.requests + 1}`);
    runs.push({ coldMs: cold.ms, restoreCmdMs: rest.ms, restoreMs: rest.ckptMs, coldTries: cold.tries, restoreTries: rest.tries, odd: [...cold.odd, ...rest.odd] });
    log(`  run ${rep}: cold start ${cold.ms.toFixed(1)} ms (${cold.tries} tries); restore ${rest.ms.toFixed(1)} ms (${rest.tries} tries, ckpt's own ${rest.ckptMs.toFixed(1)} ms); ` +
      `ratio ${(cold.ms / rest.ms).toFixed(2)}x${cold.odd.length + rest.odd.length ? `; odd errors while polling: ${[...cold.odd, ...rest.odd].join(', ')}` : ''}`);
    log(`    cold server ${cold.startup.replace(/^listening \d+; /, '')}`);
  }
  const med = (k) => median(runs.map((r) => r[k]));
  const r = {
    port, catalogueBytes: text.length, records, serverPid: warm.pid, imageBytes: dumped.size, dumpMs: dumped.ms, frozenMs: dumped.frozenMs,
    coldMs: med('coldMs'), restoreCmdMs: med('restoreCmdMs'), restoreMs: med('restoreMs'), reps: FAST_REPS, runs,
  };
  r.ratio = r.coldMs / r.restoreCmdMs;
  r.aim = { aim: AIMS.fastStart, value: r.ratio, verdict: r.ratio >= AIMS.fastStart ? 'met' : 'MISSED' };
  printFastStart(r, fs);
  return r;
}

/**
 * Start bench-server.cjs with posix_spawn: stdin /dev/null, stdout and stderr
 * appended to logFile, every fd from 3 up closed (this script's inherited
 * pipes would make the server uncheckpointable).
 */
function startServer(port, data, logFile) {
  writeFileSync(logFile, '');
  const out = O.WRONLY | O.APPEND;
  const pid = posixSpawn(process.execPath, [process.execPath, SERVER, String(port), '--data', data], {
    open: [[0, '/dev/null', O.RDONLY], [1, logFile, out], [2, logFile, out]],
    closeFrom: 3,
  });
  orphans.add(pid);
  return pid;
}

/** Spawn the server and time its first answer; then kill it and wait until its PID is gone, unless keep. */
async function coldRun(port, data, logFile, { keep = false } = {}) {
  const t0 = performance.now();
  const pid = startServer(port, data, logFile);
  try {
    const a = await firstAnswer(port, t0, `cold server ${pid}`, () => {
      if (['Z', undefined].includes(procState(pid))) throw new Error(`the server ${pid} ended before answering; its output:\n${tailOf(logFile)}`);
    });
    if (a.body.pid !== pid) throw new Error(`port ${port} answered from PID ${a.body.pid}, not from the server ${pid}`);
    return { ...a, pid, startup: readFileSync(logFile, 'utf8').trim() };
  } finally {
    if (!keep) await killGone(pid);
  }
}

/** Spawn `ckpt restore IMG --json` and time the restored server's first answer; then kill it and wait until its PID is gone. */
async function restoreRun(img, port, pid, logFile) {
  const args = ['restore', img, '--json'];
  if (procState(pid) !== undefined) throw new Error(`PID ${pid} is taken: cannot restore the server`);
  orphans.add(pid);
  const t0 = performance.now();
  const rc = track(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  rc.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
  rc.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
  let status;
  const exited = ended(rc, 'close', 120_000, `node dist/src/cli/main.js ${args.join(' ')}`).then((s) => { status = s; });
  exited.catch(() => {});
  try {
    const a = await firstAnswer(port, t0, `restored server ${pid}`, () => {
      if (status !== undefined && status !== 0) throw ckptFailed(args, status, stdout, stderr);
      if (status === 0 && ['Z', undefined].includes(procState(pid))) throw new Error(`the restored server ${pid} ended before answering; its output:\n${tailOf(logFile)}`);
    });
    await exited;
    if (status !== 0) throw ckptFailed(args, status, stdout, stderr);
    const restored = JSON.parse(stdout);
    if (restored.pid !== pid || a.body.pid !== pid) throw new Error(`restored PID ${restored.pid}, answer from PID ${a.body.pid}, expected ${pid}`);
    if (restored.notices.length) log(`  restore notices: ${restored.notices.join('; ')}`);
    return { ...a, pid, ckptMs: restored.ms };
  } finally {
    await exited.catch(() => {}); // a failing run: let ckpt restore end (its timeout) before the cleanup
    await killGone(pid);
  }
}

/**
 * GET /item/7 on a fresh connection every 2 ms until one succeeds: returns the
 * time since t0, the answer, the number of tries and any errors other than
 * "connection refused" (none expected). check() throws if waiting is hopeless.
 */
async function firstAnswer(port, t0, what, check) {
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
async function freePort() {
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

/**
 * SIGKILL a process started by this script (a child, or one restored by a
 * child) and wait until its PID is gone, reaping it if it is our child. A PID
 * that is no longer ours (gone, or reused by a stranger) is left alone.
 */
async function killGone(pid) {
  if (isOurs(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(2)) {
    try { tryWait(pid, 0); } catch { /* not our child: whoever its parent is reaps it */ }
    if (procState(pid) === undefined || !isOurs(pid)) { orphans.delete(pid); return; }
  }
  throw new Error(`process ${pid} did not go away after SIGKILL (state ${procState(pid)})`);
}

/** Is pid our child, or the child of a ckpt this script started that is still running? */
function isOurs(pid) {
  const parent = ppidOf(pid);
  return parent === process.pid || [...children].some((c) => c.pid === parent && c.exitCode === null && c.signalCode === null);
}

function tailOf(file) {
  try { return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n'); } catch (e) { return `(${e.message})`; }
}

/**
 * The catalogue the server loads: about 8 MiB of compact JSON, the same bytes
 * on every run (a seeded PRNG, fixed dates, no locale-dependent formatting).
 */
function catalogue() {
  let seed = 20260103;
  const rnd = () => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[int(xs.length)];
  const WORDS = ('amber basalt cedar delta ember fjord granite harbor iris juniper kelp lumen meadow nickel onyx prairie quartz ' +
    'raven sierra tundra umber velvet willow xenon yarrow zephyr anchor beacon copper dune falcon grove heron lagoon maple ' +
    'orchid pebble quill ridge saffron thistle valley walnut bramble cobalt drift eagle fern glacier hollow indigo jasper').split(' ');
  const TAGS = 'new sale eco premium bulk gift outdoor kitchen garden office kids sport travel tools audio lighting'.split(' ');
  const CITIES = 'Lisbon Porto Lyon Ghent Graz Turku Bergen Aarhus Leipzig Bologna Krakow Brno Tartu Cork Malmo Utrecht'.split(' ');
  const COUNTRIES = 'PT FR BE AT FI NO DK DE IT PL CZ EE IE SE NL ES'.split(' ');
  const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const epoch = Date.UTC(2020, 0, 1);
  const out = [];
  const N = 16000;
  for (let id = 0; id < N; id++) {
    const tags = [...new Set(Array.from({ length: 1 + int(5) }, () => pick(TAGS)))];
    const c = int(CITIES.length);
    out.push({
      id,
      sku: `SKU-${(int(2 ** 32) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`,
      name: words(2 + int(3)).replace(/^./, (ch) => ch.toUpperCase()),
      email: `${pick(WORDS)}.${pick(WORDS)}${id}@example.com`,
      tags,
      price: Math.round((1 + rnd() * 999) * 100) / 100,
      stock: int(1000) - 20,
      created: new Date(epoch + int(5 * 365 * 86400) * 1000).toISOString(),
      address: { street: `${1 + int(999)} ${pick(WORDS)} street`, city: CITIES[c], zip: String(10000 + int(89999)), country: COUNTRIES[c] },
      ratings: Array.from({ length: int(8) }, () => 1 + int(5)),
      description: words(20 + int(30)),
    });
  }
  return { text: JSON.stringify({ version: 3, generated: '2026-01-03T00:00:00.000Z', records: out }), records: N };
}

/** Plain file I/O for `bytes` bytes in the image directory: the machine's limit. */
function ioLimit(path, bytes) {
  const buf = randomFillSync(Buffer.allocUnsafe(CHUNK));
  let t0 = performance.now();
  let fd = openSync(path, 'wx', 0o600);
  for (let pos = 0; pos < bytes; ) pos += writeSync(fd, buf, 0, Math.min(CHUNK, bytes - pos), pos);
  fsyncSync(fd);
  closeSync(fd);
  const writeMs = performance.now() - t0;
  t0 = performance.now();
  fd = openSync(path, 'r');
  for (let pos = 0; pos < bytes; ) {
    const n = readSync(fd, buf, 0, Math.min(CHUNK, bytes - pos), pos);
    if (n <= 0) throw new Error(`short read of ${path}`);
    pos += n;
  }
  closeSync(fd);
  const readMs = performance.now() - t0;
  unlinkSync(path);
  return { writeMs, readMs };
}

/** Returns expect(regex, what, timeoutMs): resolves with the first match in the stream's unread text. */
function reader(stream, name) {
  let text = '';
  let ended = false;
  let wake = () => {};
  stream.setEncoding('utf8');
  stream.on('data', (s) => { text += s; wake(); });
  stream.on('end', () => { ended = true; wake(); });
  return async (re, what, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(text);
      if (m) { text = text.slice(m.index + m[0].length); return m; }
      if (ended) throw new Error(`${name} closed its output before printing ${what} (got ${JSON.stringify(text.slice(0, 500))})`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} from ${name}`);
      await new Promise((r) => { const t = setTimeout(r, 200); wake = () => { clearTimeout(t); r(); }; });
    }
  };
}

/** Run ckpt to completion (for dump: its output pipes are its own, nobody else holds them). */
async function runCkpt(args) {
  const c = track(spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  c.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
  c.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
  const status = await ended(c, 'close', 600_000, `node dist/src/cli/main.js ${args.join(' ')}`);
  return { status, stdout, stderr };
}

/** Exit code or signal name of a child, once `event` ('exit' or 'close') fires; an error after timeoutMs. */
function ended(child, event, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} still running after ${timeoutMs / 1000} s`)), timeoutMs);
    child.once(event, (code, sig) => { clearTimeout(t); resolve(sig ?? code); });
  });
}

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kill a restored process (our child once its ckpt restore has exited) and reap it. */
async function killAndReap(pid) {
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(2)) {
    let reaped;
    try { reaped = tryWait(pid, 0); } catch { reaped = ['Z', undefined].includes(procState(pid)); /* not our child */ }
    if (reaped) return orphans.delete(pid);
  }
  throw new Error(`restored process ${pid} did not go away after SIGKILL`);
}

function procState(pid) {
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]; } catch { return undefined; }
}

/**
 * Kill everything still alive that this script started, and delete the temp
 * directory. Node reaps the children it spawned in its event loop, unless the
 * script is exiting on a signal; restored processes, and anything else a dead
 * `ckpt restore` left to this subreaper, are reaped here.
 */
function cleanup(exiting) {
  const nap = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const live = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of live) c.kill('SIGKILL');
  // Only PIDs that are still ours (our child, or a child of a ckpt we started): never a reused PID.
  const ours = new Set([process.pid, ...live.map((c) => c.pid)]);
  for (const pid of orphans) if (ours.has(ppidOf(pid))) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  // Once a killed ckpt restore is dead, whatever it left behind is our child.
  for (let i = 0; i < 400 && live.some((c) => !['Z', undefined].includes(procState(c.pid))); i++) nap(5);
  const spawned = new Set(live.map((c) => c.pid));
  const strays = ourChildren().filter((pid) => !spawned.has(pid));
  for (const pid of strays) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  for (const pid of exiting ? [...strays, ...spawned] : strays) {
    for (let i = 0; i < 1000; i++) {
      try { if (tryWait(pid, 0)) break; } catch { break; /* already reaped */ }
      nap(5);
    }
  }
  orphans.clear();
  rmSync(work, { recursive: true, force: true });
}

function ourChildren() {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => ppidOf(pid) === process.pid);
}

function ppidOf(pid) {
  try { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]); } catch { return 0; }
}

function ckptFailed(args, status, stdout, stderr) {
  return new Error(`ckpt failed (exit ${status}): node dist/src/cli/main.js ${args.join(' ')}\n${[stdout, stderr].filter(Boolean).join('\n').trim()}`);
}

/** Filesystem of `dir`: the longest mount point in /proc/mounts that contains it. */
function fsInfo(dir) {
  const real = realpathSync(dir);
  const unescape = (s) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  let best = { mnt: '', type: 'unknown', dev: '?' };
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [dev, mnt0, type] = line.split(' ');
    if (!type) continue;
    const mnt = unescape(mnt0);
    const inside = mnt === '/' || real === mnt || real.startsWith(mnt + '/');
    if (inside && mnt.length >= best.mnt.length) best = { mnt, type, dev };
  }
  return best;
}

function judge(results) {
  const big = results.find((r) => r.mib === AIMS.bigMiB);
  const small = results.filter((r) => r.mib <= AIMS.smallMiB).sort((a, b) => b.mib - a.mib)[0];
  const verdict = (v, limit) => (v === undefined ? 'not measured' : v <= limit ? 'met' : 'MISSED');
  return {
    dumpRatio1G: { aim: AIMS.dumpRatio, value: big?.dumpRatio, verdict: verdict(big?.dumpRatio, AIMS.dumpRatio) },
    restoreRatio1G: { aim: AIMS.restoreRatio, value: big?.restoreRatio, verdict: verdict(big?.restoreRatio, AIMS.restoreRatio) },
    smallRestoreMs: { aim: AIMS.smallMs, mib: small?.mib, value: small?.restoreMs, verdict: verdict(small?.restoreMs, AIMS.smallMs) },
  };
}

function printTable(results, aims, fs) {
  const head = ['size', 'image', 'dump ms', 'MiB/s', 'frozen ms', 'write lim ms', 'dump/lim', 'restore ms', 'MiB/s', 'read lim ms', 'rest/lim', 'restore cmd ms'];
  const rows = results.map((r) => [label(r.mib), `${(r.imageBytes / MiB).toFixed(1)} MiB`, r.dumpMs.toFixed(1), r.dumpMiBps.toFixed(0),
    r.frozenMs.toFixed(1), r.writeLimitMs.toFixed(1), `${r.dumpRatio.toFixed(2)}x`, r.restoreMs.toFixed(1), r.restoreMiBps.toFixed(0),
    r.readLimitMs.toFixed(1), `${r.restoreRatio.toFixed(2)}x`, r.restoreCmdMs.toFixed(0)]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(`\nckpt bench on ${fs.type} (${fs.mnt}), ${cpus().length} CPUs, node ${process.version}; medians of ${REPS} runs, memory checksums verified`);
  console.log(fmt(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(fmt(r));
  console.log('dump/restore ms: ckpt\'s own timing (--json "ms"); MiB/s: image bytes per second; restore cmd ms: the whole `ckpt restore`, Node start-up included.');
  console.log('write/read lim: the same bytes in the same directory with writeSync of 8 MiB chunks + fsync, then readSync back (from the page cache, like');
  console.log('ckpt\'s read of the image it just wrote). dump/lim and rest/lim are medians of per-run ratios, each run\'s pair timed back to back.');
  const x = (v) => (v === undefined ? '-' : `${v.toFixed(2)}x`);
  const s = aims.smallRestoreMs;
  const lines = [
    [`dump within ${AIMS.dumpRatio}x of the write limit at 1 GiB`, x(aims.dumpRatio1G.value), aims.dumpRatio1G.verdict],
    [`restore within ${AIMS.restoreRatio}x of the read limit at 1 GiB`, x(aims.restoreRatio1G.value), aims.restoreRatio1G.verdict],
    [`a process of <= ${AIMS.smallMiB} MiB restored in < ${AIMS.smallMs} ms`, s.value === undefined ? '-' : `${s.value.toFixed(1)} ms (${label(s.mib)})`, s.verdict],
  ];
  console.log('\naims (from the issue):');
  for (const [what, value, verdict] of lines) console.log(`  ${what.padEnd(50)} ${value.padStart(18)}  ${verdict}`);
}

function printFastStart(r, fs) {
  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log(`\nfast start (issue 3) on ${fs.type} (${fs.mnt}), ${cpus().length} CPUs, node ${process.version}: a Node.js HTTP server loading a ` +
    `${(r.catalogueBytes / MiB).toFixed(1)} MiB JSON catalogue; medians of ${r.reps} runs, answers verified`);
  const rows = [
    ['cold start: spawn node bench-server.cjs -> first answer', ms(r.coldMs)],
    ['restore: spawn ckpt restore --json -> first answer', ms(r.restoreCmdMs)],
    ['  ckpt\'s own restore time (--json "ms")', ms(r.restoreMs)],
    ['cold / restore', `${r.ratio.toFixed(2)}x`],
  ];
  for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v.padStart(10)}`);
  console.log(`image ${(r.imageBytes / MiB).toFixed(1)} MiB, dumped in ${ms(r.dumpMs)} (frozen ${ms(r.frozenMs)}) after one warm-up request; ` +
    `each run a fresh connection every 2 ms until an HTTP 200, the restored process killed and gone before the next.`);
  console.log('\naim (from the issue):');
  console.log(`  ${`restore at least ${AIMS.fastStart}x faster than the cold start`.padEnd(50)} ${`${r.ratio.toFixed(2)}x`.padStart(18)}  ${r.aim.verdict}`);
}

function label(mib) {
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function rate(bytes, ms) {
  return bytes / MiB / (ms / 1000);
}

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}
