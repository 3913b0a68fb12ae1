// Trees part of the benchmark: what does a checkpoint cost per process of a
// tree, and what does a forked pool's image weigh?
//
// (1) scripts/bench-tree-workload.c `sleep N 256`: trees of 1, 10 and 100
// sleeping processes with 256 KiB of their own memory each, dumped with
// `ckpt dump ROOT --kill --json` and brought back with `ckpt restore IMG
// --json`. The figure is the cost per extra process, (median at N - median at
// 1) / (N - 1), for ckpt's own `ms` and for the whole command (Node start-up
// cancels out); the aim is <= 5 ms each way. The machine's own yardsticks,
// taken in the same rounds: the tree's cold start (spawn -> "ready": exec,
// N-1 forks, memory filled), per extra process likewise, for the restore; and
// writing the image's bytes in the same directory with fsync (as memory.mjs)
// for the dump.
// (2) `pool 50 64 1`: the root fills 64 MiB, then forks 50 workers that fill
// 1 MiB each and tick every 10 ms. Its image against the sum of the tree's RSS
// (what saving each process on its own would cost) and against its distinct
// pages (see rollup()).
// Every round checks the tree before the dump and after the restore: every PID
// there with its parent and program, every process checksums its memory on
// SIGUSR1 into a shared page, pool workers keep ticking; then kills and reaps
// all of it (and on failure or ^C too).
import { spawn } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, readlinkSync, unlinkSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { MiB, compile, log, median, printTable, sleep, tailOf } from './common.mjs';
import { ckptFailed, procState, reader, runCkpt, sys, track, work } from './processes.mjs';

const SIZES = [1, 10, 100];
const OWN_KIB = 256;
const POOL = { workers: 50, rootMiB: 64, workerMiB: 1 };
const REPS = 3;
const AIM_MS = 5; // per extra sleeping process, dump and restore each
const SLOT = 24; // struct slot of the workload: ticks, checked, bad

let bin;
const live = new Set(); // PIDs of trees not known to be gone: killed on ^C before bench.mjs's cleanup

export async function treesPart(fs) {
  bin = compile('bench-tree-workload.c', join(work, 'bench-tree-workload'));
  const onSignal = () => { for (const pid of live) if (isWorkload(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } };
  for (const sig of ['SIGINT', 'SIGTERM']) process.prependListener(sig, onSignal);
  try {
    log(`trees: ${bin} on ${fs.type} (${fs.mnt}); ${REPS} runs per tree, medians; every restored tree checked`);
    const sleeping = [];
    for (const n of SIZES) sleeping.push(summarize(await rounds(`${n} sleeping`, ['sleep', String(n), String(OWN_KIB)], n, false), { n }));
    const perExtra = SIZES.slice(1).map((n) => slope(sleeping[0], sleeping.find((r) => r.n === n)));
    const aims = judge(perExtra.at(-1));
    const poolRuns = await rounds(`pool of ${POOL.workers}`, ['pool', String(POOL.workers), String(POOL.rootMiB), String(POOL.workerMiB)], POOL.workers + 1, true);
    const pool = summarize(poolRuns, { ...POOL, processes: POOL.workers + 1 });
    for (const k of ['rssBytes', 'pssBytes', 'distinctBytes']) pool[k] = median(poolRuns.map((r) => r[k]));
    pool.imageToRss = median(poolRuns.map((r) => r.imageBytes / r.rssBytes));
    pool.imageToDistinct = median(poolRuns.map((r) => r.imageBytes / r.distinctBytes));
    printTrees(sleeping, perExtra, aims, pool, fs);
    return { reps: REPS, ownKiB: OWN_KIB, sleeping, perExtra, aims, pool };
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM']) process.removeListener(sig, onSignal);
  }
}

async function rounds(what, args, n, ticking) {
  const runs = [];
  for (let rep = 1; rep <= REPS; rep++) {
    const r = await round(args, n, ticking, join(work, `tree-${args[0]}${args[1]}-${rep}.ckpt`));
    runs.push(r);
    log(`  ${what} run ${rep}: cold start ${r.coldMs.toFixed(1)} ms; dump ${r.dumpMs.toFixed(1)} ms (frozen ${r.frozenMs.toFixed(1)}, command ` +
      `${r.dumpCmdMs.toFixed(0)}), write limit ${r.writeMs.toFixed(1)} ms; restore ${r.restoreMs.toFixed(1)} ms (command ${r.restoreCmdMs.toFixed(0)}); ` +
      `image ${(r.imageBytes / MiB).toFixed(1)} MiB${r.rssBytes ? `, tree RSS ${(r.rssBytes / MiB).toFixed(0)} MiB, distinct ${(r.distinctBytes / MiB).toFixed(1)} MiB` : ''}; tree ok`);
  }
  return runs;
}

/** Start a tree, check it, dump it with --kill, restore it, check it again; kill and reap it whatever happens. */
async function round(args, n, ticking, img) {
  const errLog = `${img}.stderr`; // the tree's stderr: a file, so that no pipe ties it to this script
  const errFd = openSync(errLog, 'a', 0o600);
  const t0 = performance.now();
  const c = track(spawn(bin, args, { stdio: ['ignore', 'pipe', errFd] }));
  closeSync(errFd);
  live.add(c.pid);
  const exited = new Promise((r) => c.once('exit', (code, sig) => r(sig ?? code)));
  let pids = [c.pid];
  try {
    const m = await reader(c.stdout, 'tree workload')(/^ready (\w+)((?: \d+)+)\n/m, '"ready"', 120_000)
      .catch((e) => { throw new Error(`${e.message}; its stderr:\n${tailOf(errLog)}`); });
    const coldMs = performance.now() - t0;
    const t = { root: c.pid, addr: parseInt(m[1], 16), pids: m[2].trim().split(' ').map(Number), errLog };
    pids = t.pids;
    for (const pid of pids) live.add(pid);
    if (pids[0] !== c.pid || pids.length !== n) throw new Error(`the workload said ${m[0].trim()}, expected root ${c.pid} and ${n} processes`);
    checkTree(t, 'the original tree');
    await responds(t, ticking, 'the original tree');
    const mem = ticking ? rollup(pids) : {}; // right before the dump, the counters' page aside, nothing changes

    const dumpArgs = ['dump', String(t.root), '-o', img, '--kill', '--json'];
    let t1 = performance.now();
    const d = await runCkpt(dumpArgs);
    const dumpCmdMs = performance.now() - t1;
    if (d.status !== 0) throw ckptFailed(dumpArgs, d.status, d.stdout, d.stderr);
    const dumped = JSON.parse(d.stdout);
    if (dumped.notices.length) log(`  dump notices: ${dumped.notices.join('; ')}`);
    if (dumped.processes !== n || dumped.zombies !== 0) throw new Error(`ckpt dump saw ${dumped.processes} processes and ${dumped.zombies} zombies, expected ${n} and 0`);
    const how = await exited;
    if (how !== 'SIGKILL') throw new Error(`the root ${t.root} ended with ${how}, not SIGKILL, after ckpt dump --kill`);
    await gone(pids, c, 'after ckpt dump --kill'); // their PIDs must be free for the restore
    const { writeMs } = writeLimit(join(work, 'limit.bin'), dumped.size);

    const restoreArgs = ['restore', img, '--json'];
    t1 = performance.now();
    const r = await runCkpt(restoreArgs); // returns at once: nothing of the tree holds its stdout or stderr
    const restoreCmdMs = performance.now() - t1;
    if (r.status !== 0) throw ckptFailed(restoreArgs, r.status, r.stdout, r.stderr);
    const restored = JSON.parse(r.stdout);
    const back = restored.processes.map((p) => p.pid).sort((a, b) => a - b);
    if (restored.pid !== t.root || back.join() !== [...pids].sort((a, b) => a - b).join()) {
      throw new Error(`ckpt restore brought back root ${restored.pid} and PIDs ${back.join(' ')}, expected root ${t.root} and ${pids.join(' ')}`);
    }
    if (restored.notices.length) log(`  restore notices: ${restored.notices.join('; ')}`);
    checkTree(t, 'the restored tree');
    await responds(t, ticking, 'the restored tree');
    unlinkSync(img);
    return { coldMs, imageBytes: dumped.size, memoryBytes: dumped.memoryBytes, dumpMs: dumped.ms, frozenMs: dumped.frozenMs, dumpCmdMs, writeMs,
      restoreMs: restored.ms, restoreCmdMs, ...mem };
  } finally {
    for (const pid of pids) if (isWorkload(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await gone(pids, c, 'after SIGKILL');
  }
}

/** Our workload (not a stranger that reused the PID): exe, or failing that argv[0]. */
function isWorkload(pid) {
  try { return readlinkSync(`/proc/${pid}/exe`) === bin; } catch { /* zombie, gone, or no exe link */ }
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === bin; } catch { return false; }
}

function ppidOf(pid) {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
}

/**
 * Wait until every PID is gone, reaping those that are our children: a
 * restored root, and whatever a dead root leaves (this script is a child
 * subreaper). Node reaps the root it spawned (child c) itself, and would
 * never see its exit if we took it; the restored root with that PID is ours.
 */
async function gone(pids, c, when) {
  const left = new Set(pids);
  for (const deadline = Date.now() + 20_000; left.size; await sleep(2)) {
    for (const pid of left) {
      if (pid !== c.pid || c.exitCode !== null || c.signalCode !== null) try { sys.tryWait(pid, 0); } catch { /* not our child (yet) */ }
      const st = procState(pid);
      if (st === undefined || (st !== 'Z' && !isWorkload(pid))) { left.delete(pid); live.delete(pid); }
    }
    if (Date.now() > deadline) {
      throw new Error(`processes still there ${when}: ${[...left].map((p) => `${p} (state ${procState(p)}, parent ${ppidOf(p)})`).join(', ')}`);
    }
  }
}

/** Every PID there, alive, running the workload, the root our child (directly, or as subreaper) and the others the root's. */
function checkTree(t, what) {
  const bad = [];
  for (const pid of t.pids) {
    const st = procState(pid);
    if (st === undefined || st === 'Z') { bad.push(`${pid} is ${st ? 'a zombie' : 'missing'}`); continue; }
    if (!isWorkload(pid)) bad.push(`${pid} does not run ${bin}`);
    const want = pid === t.root ? process.pid : t.root;
    const ppid = ppidOf(pid);
    if (ppid !== want) bad.push(`${pid} has parent ${ppid}, not ${want}`);
  }
  if (bad.length) throw new Error(`${what} is wrong: ${bad.join('; ')}; its stderr:\n${tailOf(t.errLog)}`);
}

/** The workload's slots, read from the root's memory: the page is MAP_SHARED, so every process's updates show there. */
function readSlots(t) {
  const buf = Buffer.alloc(SLOT * t.pids.length);
  const fd = openSync(`/proc/${t.root}/mem`, 'r');
  try { readSync(fd, buf, 0, buf.length, t.addr); } finally { closeSync(fd); }
  return t.pids.map((pid, i) => ({ pid, ticks: Number(buf.readBigInt64LE(SLOT * i)), checked: Number(buf.readBigInt64LE(SLOT * i + 8)), bad: Number(buf.readBigInt64LE(SLOT * i + 16)) }));
}

/** SIGUSR1 to every process: each must checksum its memory right; pool workers (not the root) must also tick twice. */
async function responds(t, ticking, what) {
  const before = readSlots(t);
  for (const pid of t.pids) process.kill(pid, 'SIGUSR1');
  const late = (now) => now.filter((s, i) => s.checked <= before[i].checked || (ticking && i > 0 && s.ticks < before[i].ticks + 2)); // the root does not tick
  for (const deadline = Date.now() + 30_000; ; await sleep(10)) {
    const now = readSlots(t);
    const wrong = now.filter((s, i) => s.bad > before[i].bad);
    if (wrong.length) throw new Error(`${what}: memory differs in ${wrong.map((s) => s.pid).join(' ')} (their checksum after SIGUSR1)`);
    const l = late(now);
    if (!l.length) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: no answer to SIGUSR1${ticking ? ' or no ticks' : ''} within 30 s from ${l.length} of ${t.pids.length} processes: ` +
        `${l.slice(0, 10).map((s) => `${s.pid} (checked ${s.checked}, ticks ${before[t.pids.indexOf(s.pid)].ticks} -> ${s.ticks}, state ${procState(s.pid)})`).join(', ')}`);
    }
  }
}

/**
 * The tree's memory from /proc/PID/smaps_rollup. rssBytes: every process's
 * resident pages, a page shared by k processes counted k times. distinctBytes:
 * Pss_Anon + Pss_Shmem summed, i.e. every anonymous page counted once (a page
 * mapped by k processes adds 1/k to each), which is what the image must hold.
 * Chosen over plain Pss, which adds file pages (program, libc) that ckpt saves
 * by reference and whose share depends on unrelated processes; and over
 * Private_Dirty + Shared_Dirty "counted once", which cannot tell which shared
 * pages are the same ones. Plain Pss is kept for information.
 */
function rollup(pids) {
  const total = { rssBytes: 0, pssBytes: 0, distinctBytes: 0 };
  for (const pid of pids) {
    const f = Object.fromEntries([...readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').matchAll(/^(\w+):\s+(\d+) kB$/gm)].map((m) => [m[1], Number(m[2]) * 1024]));
    if (f.Pss_Anon === undefined) throw new Error('/proc/PID/smaps_rollup has no Pss_Anon (kernel older than 5.x?)');
    total.rssBytes += f.Rss;
    total.pssBytes += f.Pss;
    total.distinctBytes += f.Pss_Anon + f.Pss_Shmem;
  }
  return total;
}

/** The machine's limit for the dump: the same bytes written in the same directory, 8 MiB at a time, with fsync. */
function writeLimit(path, bytes) {
  const buf = randomFillSync(Buffer.allocUnsafe(8 * MiB));
  const t0 = performance.now();
  const fd = openSync(path, 'wx', 0o600);
  try {
    for (let pos = 0; pos < bytes; ) pos += writeSync(fd, buf, 0, Math.min(buf.length, bytes - pos), pos);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  return { writeMs: performance.now() - t0 };
}

function summarize(runs, extra) {
  const med = (k) => median(runs.map((r) => r[k]));
  const s = { ...extra, runs: runs.length };
  for (const k of ['coldMs', 'imageBytes', 'memoryBytes', 'dumpMs', 'frozenMs', 'dumpCmdMs', 'writeMs', 'restoreMs', 'restoreCmdMs']) s[k] = med(k);
  s.dumpRatio = median(runs.map((r) => r.dumpMs / r.writeMs)); // per-run ratios: each pair timed back to back
  s.restoreToCold = median(runs.map((r) => r.restoreCmdMs / r.coldMs));
  return s;
}

/** Cost per extra process between two tree sizes, from their medians. */
function slope(a, b) {
  const per = (k) => (b[k] - a[k]) / (b.n - a.n);
  const s = { from: a.n, to: b.n };
  for (const k of ['dumpMs', 'dumpCmdMs', 'restoreMs', 'restoreCmdMs', 'coldMs', 'imageBytes']) s[k] = per(k);
  s.restoreToCold = s.restoreCmdMs / s.coldMs;
  return s;
}

function judge(p) {
  const v = (x) => ({ aim: AIM_MS, value: x, verdict: x <= AIM_MS ? 'met' : 'MISSED' });
  return { dump: v(p.dumpMs), dumpCmd: v(p.dumpCmdMs), restore: v(p.restoreMs), restoreCmd: v(p.restoreCmdMs), from: p.from, to: p.to };
}

function printTrees(sleeping, perExtra, aims, pool, fs) {
  const ms = (v) => v.toFixed(1);
  const mib = (b) => `${(b / MiB).toFixed(1)} MiB`;
  const x = (v) => `${v.toFixed(v < 0.1 ? 3 : 2)}x`;
  console.log(`\nprocess trees on ${fs.type} (${fs.mnt}), ${cpus().length} CPUs, node ${process.version}: bench-tree-workload sleep N ${OWN_KIB} ` +
    `(${OWN_KIB} KiB of its own per process); medians of ${REPS} runs, every restored tree checked`);
  printTable(['processes', 'image', 'dump ms', 'frozen ms', 'dump cmd ms', 'write lim ms', 'dump/lim', 'restore ms', 'restore cmd ms', 'cold start ms', 'rest cmd/cold'],
    sleeping.map((r) => [String(r.n), mib(r.imageBytes), ms(r.dumpMs), ms(r.frozenMs), ms(r.dumpCmdMs), ms(r.writeMs), x(r.dumpRatio),
      ms(r.restoreMs), ms(r.restoreCmdMs), ms(r.coldMs), x(r.restoreToCold)]));
  console.log('');
  printTable(['per extra process', 'image', 'dump ms', 'dump cmd ms', 'restore ms', 'restore cmd ms', 'cold start ms', 'rest cmd/cold'],
    perExtra.map((p) => [`${p.from} -> ${p.to}`, `${(p.imageBytes / 1024).toFixed(0)} KiB`, ms(p.dumpMs), ms(p.dumpCmdMs), ms(p.restoreMs),
      ms(p.restoreCmdMs), ms(p.coldMs), x(p.restoreToCold)]));
  console.log('dump/restore ms: ckpt\'s own timing (--json "ms"); cmd ms: the whole command, Node start-up included. write lim: the image\'s bytes written');
  console.log('in the same directory with fsync. cold start: spawning the workload until every process has filled its memory and is asleep.');
  console.log('per extra process: (median at N - median at 1) / (N - 1). Checked each run: every PID back with its parent and program, and');
  console.log('every process answering SIGUSR1 with the right checksum of its memory, through a MAP_SHARED page.');

  console.log(`\nforked pool: bench-tree-workload pool ${pool.workers} ${pool.rootMiB} ${pool.workerMiB} (the root fills ${pool.rootMiB} MiB, then forks ` +
    `${pool.workers} workers that fill ${pool.workerMiB} MiB each and tick every 10 ms); medians of ${pool.runs} runs, ticks and checksums verified`);
  printTable(['processes', 'image', 'tree RSS', 'distinct', 'image/RSS', 'image/distinct', 'sum Pss', 'dump ms', 'frozen ms', 'dump/lim', 'restore ms',
    'restore cmd ms', 'cold start ms', 'rest cmd/cold'],
  [[String(pool.processes), mib(pool.imageBytes), mib(pool.rssBytes), mib(pool.distinctBytes), x(pool.imageToRss), x(pool.imageToDistinct),
    mib(pool.pssBytes), ms(pool.dumpMs), ms(pool.frozenMs), x(pool.dumpRatio), ms(pool.restoreMs), ms(pool.restoreCmdMs), ms(pool.coldMs), x(pool.restoreToCold)]]);
  console.log('tree RSS: Rss summed over the processes (a page shared by k processes counted k times); distinct: Pss_Anon + Pss_Shmem summed,');
  console.log('each anonymous page counted once, what the image must hold; sum Pss adds file pages ckpt saves by reference. Ratios: medians');
  console.log('of per-run ratios. After restore every worker has its own copy of the shared pages, so the restore fills tree-RSS bytes of RAM.');

  const line = (what, a) => console.log(`  ${what.padEnd(60)} ${`${a.value.toFixed(2)} ms`.padStart(10)}  ${a.verdict}`);
  console.log(`\naims (from the issue), per extra sleeping process, ${aims.from} -> ${aims.to} processes:`);
  line(`dump <= ${AIM_MS} ms (ckpt's own time)`, aims.dump);
  line(`dump <= ${AIM_MS} ms (whole ckpt dump command)`, aims.dumpCmd);
  line(`restore <= ${AIM_MS} ms (ckpt's own time)`, aims.restore);
  line(`restore <= ${AIM_MS} ms (whole ckpt restore command)`, aims.restoreCmd);
}
