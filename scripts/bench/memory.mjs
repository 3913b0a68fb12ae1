// Memory part of the benchmark: how fast are dump and restore, compared with
// what this machine's disk and page cache can do anyway?
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
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { CLI, MiB, compile, label, log, median, rate, sleep, printTable } from './common.mjs';
import { ckptFailed, ended, killAndReap, orphans, reader, runCkpt, track, work } from './processes.mjs';

const REPS = 3;
const CHUNK = 8 * MiB;
const AIMS = { dumpRatio: 1.5, restoreRatio: 2, smallMs: 30, smallMiB: 16, bigMiB: 1024 };

/** Dump and restore of C workloads holding `sizes` MiB, against the machine's I/O limit. */
export async function memoryPart(fs, sizes) {
  const bin = compile('bench-workload.c', join(work, 'bench-workload'));
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
  printMemoryTable(results, aims, fs);
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

function printMemoryTable(results, aims, fs) {
  const head = ['size', 'image', 'dump ms', 'MiB/s', 'frozen ms', 'write lim ms', 'dump/lim', 'restore ms', 'MiB/s', 'read lim ms', 'rest/lim', 'restore cmd ms'];
  const rows = results.map((r) => [label(r.mib), `${(r.imageBytes / MiB).toFixed(1)} MiB`, r.dumpMs.toFixed(1), r.dumpMiBps.toFixed(0),
    r.frozenMs.toFixed(1), r.writeLimitMs.toFixed(1), `${r.dumpRatio.toFixed(2)}x`, r.restoreMs.toFixed(1), r.restoreMiBps.toFixed(0),
    r.readLimitMs.toFixed(1), `${r.restoreRatio.toFixed(2)}x`, r.restoreCmdMs.toFixed(0)]);
  console.log(`\nckpt bench on ${fs.type} (${fs.mnt}), ${cpus().length} CPUs, node ${process.version}; medians of ${REPS} runs, memory checksums verified`);
  printTable(head, rows);
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
