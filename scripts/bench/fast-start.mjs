// Fast-start part of the benchmark (issue 3): how soon does a restored Node.js
// HTTP server answer, compared with the same server started cold?
// scripts/bench-server.cjs loads modules, reads, parses and validates a
// catalogue JSON of about 8 MiB (generated here, deterministically, before any
// timing), builds indexes, then listens. Cold start: from spawning
// `node bench-server.cjs PORT` to its first successful HTTP answer (a fresh
// connection tried every 2 ms). Restore: the server is started once, answers
// one request, is dumped with `ckpt dump PID --kill --tcp-close`; each run then
// times from spawning `ckpt restore IMG --json` (the whole command, Node
// start-up included) to the restored server's first answer, which must equal
// the cold server's. Cold and restore runs alternate, 5 of each, medians.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { CLI, MiB, ROOT, log, median, tailOf } from './common.mjs';
import { ckptFailed, ended, killGone, orphans, procState, runCkpt, sys, track, work } from './processes.mjs';
import { catalogue } from './catalogue.mjs';
import { firstAnswer, freePort } from './http.mjs';

const FAST_REPS = 5;
const AIM = 5; // restore at least this many times faster than the cold start
const SERVER = join(ROOT, 'scripts/bench-server.cjs');

/**
 * Issue 3: how soon a restored Node.js HTTP server answers, against the same
 * server started cold. Cold and restore runs alternate so that both see the
 * same machine load; the restored server must answer what the cold one does.
 */
export async function fastStartPart(fs) {
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
  r.aim = { aim: AIM, value: r.ratio, verdict: r.ratio >= AIM ? 'met' : 'MISSED' };
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
  const { O } = sys;
  const out = O.WRONLY | O.APPEND;
  const pid = sys.spawn(process.execPath, [process.execPath, SERVER, String(port), '--data', data], {
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
  console.log(`  ${`restore at least ${AIM}x faster than the cold start`.padEnd(50)} ${`${r.ratio.toFixed(2)}x`.padStart(18)}  ${r.aim.verdict}`);
}
