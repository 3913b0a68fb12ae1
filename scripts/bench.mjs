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
// Usage: npm run bench -- [--sizes 16,256,1024] [--dir DIR] [--json]
// Needs a built ckpt (npm run build) and gcc; ptrace needs root or CAP_SYS_PTRACE.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, realpathSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const REPS = 3;
const MiB = 1 << 20;
const CHUNK = 8 * MiB;
const AIMS = { dumpRatio: 1.5, restoreRatio: 2, smallMs: 30, smallMiB: 16, bigMiB: 1024 };

const { values: opt } = parseArgs({
  options: { sizes: { type: 'string', default: '16,256,1024' }, dir: { type: 'string' }, json: { type: 'boolean', default: false } },
});
const sizes = opt.sizes.split(',').map((s) => Number(s.trim()));
if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) fail(`--sizes wants MiB counts like 16,256,1024, not ${opt.sizes}`);
if (!existsSync(CLI)) fail(`${CLI} is missing: run npm run build first`);
// The restored process is a child of `ckpt restore`, which exits at once; as a
// child subreaper this script inherits it and can reap it itself.
const { setChildSubreaper, tryWait } = await import(join(ROOT, 'dist/src/sys/index.js'));
setChildSubreaper();

const work = mkdtempSync(join(opt.dir ?? tmpdir(), 'ckpt-bench-'));
const children = new Set(); // ChildProcess objects still running
const orphans = new Set(); // restored PIDs not reaped yet
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (s) => process.stderr.write(s + '\n');
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(true); process.exit(130); });

try {
  const fs = fsInfo(work);
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
  if (opt.json) console.log(JSON.stringify({ fs: fs.type, dir: work, reps: REPS, cpus: cpus().length, node: process.version, results, aims }));
} catch (e) {
  process.exitCode = 1;
  console.error(`bench failed: ${e.message}`);
} finally {
  cleanup(false);
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
  for (const pid of orphans) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
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
  const ppid = (pid) => { try { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]); } catch { return 0; } };
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => ppid(pid) === process.pid);
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
