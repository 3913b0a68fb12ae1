#!/usr/bin/env node
// ckpt benchmark. Each part is described at the top of its module:
//   memory        scripts/bench/memory.mjs: dump and restore of C workloads
//                 of --sizes MiB, against the machine's own write/read limit
//   fast-start    scripts/bench/fast-start.mjs (issue 3): first answer of a
//                 restored Node.js HTTP server against its cold start
//   run-overhead  scripts/bench/run-overhead.mjs (issue 4): a CPU-bound and a
//                 syscall-heavy C workload, plain and under `ckpt run`; and a
//                 signal-heavy one, where supervision does cost, for information
//   trees         scripts/bench/trees.mjs: dump and restore of trees of 1, 10
//                 and 100 sleeping processes (cost per extra process), and the
//                 image of a 50-worker forked pool against its RSS
// By default every part runs; tables go to stdout, progress to stderr, and
// with --json a last stdout line holds every figure.
//
// Usage: npm run bench -- [--only memory|fast-start|run-overhead|trees] [--sizes 16,256,1024] [--dir DIR] [--json]
// Needs a built ckpt (npm run build) and gcc; ptrace needs root or CAP_SYS_PTRACE.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { CLI, fsInfo } from './bench/common.mjs';
import { cleanup, setup } from './bench/processes.mjs';
import { memoryPart } from './bench/memory.mjs';
import { fastStartPart } from './bench/fast-start.mjs';
import { runOverheadPart } from './bench/run-overhead.mjs';
import { treesPart } from './bench/trees.mjs';

const PARTS = ['memory', 'fast-start', 'run-overhead', 'trees'];

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

const work = await setup(opt.dir);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(true); process.exit(130); });

try {
  const fs = fsInfo(work);
  const out = { fs: fs.type, dir: work, cpus: cpus().length, node: process.version };
  if (parts.includes('memory')) Object.assign(out, await memoryPart(fs, sizes)); // reps, results, aims
  if (parts.includes('fast-start')) out.fastStart = await fastStartPart(fs);
  if (parts.includes('run-overhead')) out.runOverhead = await runOverheadPart();
  if (parts.includes('trees')) out.trees = await treesPart(fs);
  if (opt.json) console.log(JSON.stringify(out));
} catch (e) {
  process.exitCode = 1;
  console.error(`bench failed: ${e.message}`);
} finally {
  cleanup(false);
}

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}
