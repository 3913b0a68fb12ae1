#!/usr/bin/env node
// Runs CRIU's zdtm static tests against ckpt: each test is started as CRIU's
// runner starts it, checkpointed with `ckpt dump --kill`, restored with `ckpt
// restore --detach`, and asked for its verdict with SIGTERM. Every test runs
// twice: plainly, and with an inherited pipe to another process on fd 7. A
// tool, not part of the test suite. The protocol is described in docs/zdtm.md.
//
// Usage: npm run zdtm -- --criu DIR [--json] [--out FILE] [--jobs N] [--only-plain|--only-pipe]
//                        [--timeout S] [--no-build] [--keep] [TEST...]
// DIR is a CRIU source tree; needs root, make and a C compiler. The ckpt CLI is
// this repository's dist/ build (npm run build), or $CKPT_CLI.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describe, launchCommands, listTests } from './zdtm/desc.mjs';
import { PIPE_FD, killFamily, runTest } from './zdtm/run.mjs';
import { unmountUnder } from './zdtm/proc.mjs';
import { counts, groupReasons, printTable } from './zdtm/report.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (s) => process.stderr.write(s + '\n');
const fail = (s) => { log(`zdtm: ${s}`); process.exit(2); };

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    criu: { type: 'string' },
    json: { type: 'boolean', default: false },
    out: { type: 'string' },
    jobs: { type: 'string', default: '1' },
    'only-plain': { type: 'boolean', default: false },
    'only-pipe': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '30' },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
if (!opt.criu) fail('--criu DIR (a CRIU source tree) is required');
const criu = resolve(opt.criu);
const staticDir = join(criu, 'test/zdtm/static');
if (!existsSync(staticDir)) fail(`${staticDir} is missing: --criu wants the top of a CRIU source tree`);
if (opt['only-plain'] && opt['only-pipe']) fail('--only-plain and --only-pipe exclude each other');
const modes = opt['only-plain'] ? ['plain'] : opt['only-pipe'] ? ['pipe'] : ['plain', 'pipe'];
const jobs = Number(opt.jobs);
const timeoutS = Number(opt.timeout);
if (!Number.isInteger(jobs) || jobs < 1) fail(`--jobs wants a positive integer, not ${opt.jobs}`);
if (!(timeoutS > 0)) fail(`--timeout wants seconds, not ${opt.timeout}`);
const cli = resolve(process.env.CKPT_CLI ?? join(ROOT, 'dist/src/cli/main.js'));
if (!existsSync(cli)) fail(`${cli} is missing: run npm run build first (or set CKPT_CLI)`);
if (process.getuid() !== 0) fail('needs root: ckpt dumps processes it did not start, and zdtm tests switch uid');

const workRoot = mkdtempSync(join(tmpdir(), 'ckpt-zdtm-'));
chmodSync(workRoot, 0o755); // tests that drop privileges reach their directories below

// --- build the tests (make is incremental: fast when already built)
if (!opt['no-build']) {
  const make = (args) => spawnSync('make', [`-j${availableParallelism()}`, ...args], { cwd: criu, encoding: 'utf8', maxBuffer: 64 << 20 });
  log('zdtm: building test/zdtm/lib and test/zdtm/static ...');
  const lib = make(['-C', 'test/zdtm/lib']);
  if (lib.status !== 0) fail(`make -C test/zdtm/lib failed:\n${lib.stdout}${lib.stderr}`.slice(-4000));
  const st = make(['-k', '-C', 'test/zdtm/static']);
  if (st.status !== 0) {
    const failed = [...`${st.stdout}${st.stderr}`.matchAll(/\*\*\* \[[^\]]*: ([^\]]+)\] Error/g)].map((m) => m[1]);
    log(`zdtm: make -k exit ${st.status}; targets that failed: ${failed.join(' ') || '(see make -k -C test/zdtm/static)'}`);
  }
}

// --- which tests, how each starts, which are skipped
const all = listTests(criu);
const wanted = positionals.length ? positionals.map((n) => n.replace(/^(test\/)?(zdtm\/)?static\//, '')) : all;
const argvs = launchCommands(staticDir, wanted.filter((n) => existsSync(join(staticDir, n))));
const tests = wanted.map((n) => describe(staticDir, n, argvs.get(n) ?? null, positionals.length > 0));

// --- leftovers are killed by PID, also when interrupted
const tracked = new Set();
const ctx = { cli, timeoutS, staticDir, track: (p) => tracked.add(p), untrack: (p) => tracked.delete(p) };
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const p of tracked) killFamily(p);
    log(`zdtm: interrupted; work files are in ${workRoot}`);
    process.exit(130);
  });
}

const runnable = tests.filter((t) => !t.skip);
let done = 0;
async function one(t) {
  for (const m of modes) {
    const dir = join(workRoot, `${t.name}.${m}`);
    t[m] = await runTest(t, m, dir, ctx);
    const left = unmountUnder(dir);
    if (left.length) t[m].unmounted = left.map((p) => p.slice(dir.length + 1));
    if (!opt.keep) removeDir(dir);
  }
  done++;
  const what = modes.map((m) => `${m} ${t[m].result}${t[m].result === 'pass' ? '' : ` (${t[m].reason.slice(0, 120)})`}`).join(' | ');
  log(`[${done}/${runnable.length}] ${t.name}: ${what}`);
}
const started = Date.now();
log(`zdtm: ${runnable.length} tests to run (${tests.length - runnable.length} skipped), modes: ${modes.join(', ')}, ${jobs} at a time`);
// Tests flagged 'excl' change host-wide state (locks, cgroups): they run alone, after the others.
const queue = runnable.filter((t) => !t.excl);
await Promise.all(Array.from({ length: jobs }, async () => { while (queue.length) await one(queue.shift()); }));
for (const t of runnable.filter((t) => t.excl)) await one(t);

// --- report
const git = (dir, ...a) => spawnSync('git', ['-C', dir, ...a], { encoding: 'utf8' }).stdout?.trim() || null;
const summary = {
  date: new Date().toISOString(),
  seconds: Math.round((Date.now() - started) / 1000),
  kernel: release(),
  criu: { dir: criu, commit: git(criu, 'rev-parse', 'HEAD') },
  ckpt: { cli, commit: git(dirname(cli), 'describe', '--always', '--dirty') },
  options: { modes, jobs, timeoutS, pipeFd: PIPE_FD },
  counts: Object.fromEntries(modes.map((m) => [m, counts(tests, m)])),
  reasons: Object.fromEntries(modes.map((m) => [m, groupReasons(tests, m)])),
  tests,
};
if (opt.out) writeFileSync(opt.out, JSON.stringify(summary, null, 1) + '\n');
if (opt.json) {
  console.log(JSON.stringify(summary, null, 1));
} else {
  printTable(tests, modes);
  console.log('');
  for (const m of modes) {
    const c = summary.counts[m];
    const rest = Object.entries(c).filter(([k, v]) => v && !['pass', 'run', 'skipped'].includes(k)).map(([k, v]) => `${v} ${k}`).join(', ');
    console.log(`${m}: ${c.pass} passed of ${c.run} run${rest ? ` (${rest})` : ''}, ${c.skipped} skipped`);
  }
  const restored = tests.filter((t) => t.pipe?.pipeReconnected !== undefined);
  if (restored.length) console.log(`pipe: fd ${PIPE_FD} was the reader's pipe again after ${restored.filter((t) => t.pipe.pipeReconnected).length} of ${restored.length} restores`);
  for (const m of modes) {
    console.log(`\ntop reasons, ${m}:`);
    for (const g of summary.reasons[m].slice(0, 12)) console.log(`  ${String(g.count).padStart(4)}  ${g.reason.slice(0, 150)}`);
  }
  console.log('\n* a crfail test: CRIU too refuses to dump it');
}
if (opt.keep) log(`zdtm: work files kept in ${workRoot}`);
else removeDir(workRoot);

function removeDir(dir) {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    log(`zdtm: could not remove ${dir}: ${e.message}`);
  }
}
