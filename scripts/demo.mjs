#!/usr/bin/env node
// The quick-start demo: run a sample program, checkpoint it into a file,
// kill it, restore it from the file, and watch it carry on where it was.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ckpt = join(root, 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'ckpt-demo-'));
const log = join(dir, 'counter.log');
const image = join(dir, 'counter.ckpt');
const say = (s) => console.log(`\x1b[1m${s}\x1b[0m`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

async function until(what, cond, ms = 20000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

if (process.getuid?.() !== 0) {
  console.error('ckpt needs root (ptrace of any process, exact PIDs): run the demo as root.');
  process.exit(1);
}
if (!existsSync(ckpt)) execFileSync('npx', ['tsc', '-p', root], { stdio: 'inherit' });
// posix_spawn with every fd above stderr closed: the sample program gets only
// its stdio, whatever this shell leaked to us.
const { spawn, tryWait } = await import(join(root, 'dist/src/sys/index.js'));

let pid;
try {
  say('1. Start a sample program (demo/counter.py), writing to ' + log);
  const python = ['/usr/bin/python3', '/bin/python3', '/usr/local/bin/python3'].find(existsSync) ?? 'python3';
  pid = spawn(python, ['python3', join(root, 'demo/counter.py'), '25'], { dup2: [[1, openSync(log, 'w')]], open: [[0, '/dev/null', 0]], closeFrom: 3 });
  await until('the program to count to 5', () => lines().length >= 5);
  console.log(lines().slice(-2).join('\n'));

  say(`2. Checkpoint it: ckpt dump ${pid} -o counter.ckpt --kill`);
  execFileSync(process.execPath, [ckpt, 'dump', String(pid), '-o', image, '--kill'], { stdio: 'inherit' });
  const before = lines().length;
  await until('the original to be gone', () => tryWait(pid, 0) !== undefined);
  console.log(`the program is gone after ${before} lines; its image:`);
  console.log(execFileSync(process.execPath, [ckpt, 'info', image], { encoding: 'utf8' }).split('\n').slice(0, 5).join('\n'));

  say('3. Restore it: ckpt restore counter.ckpt (same PID, waits for it like a shell job)');
  const r = spawnSync(process.execPath, [ckpt, 'restore', image, '--verbose'], { stdio: 'inherit' });
  const all = lines();
  console.log(all.slice(before - 2, before + 2).join('\n') + '\n...\n' + all.slice(-2).join('\n'));
  const ticks = all.filter((l) => l.startsWith('tick')).map((l) => Number(l.split(' ')[1]));
  const continuous = ticks.every((n, i) => n === i + 1) && ticks.length === 25;
  say(continuous && r.status === 0
    ? `It continued from tick ${before + 1} to the end with the same PID ${pid}: checkpoint and restore work.`
    : `Something went wrong (exit ${r.status}); the log is in ${log}`);
  process.exitCode = continuous && r.status === 0 ? 0 : 1;
} finally {
  try { if (pid) process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  if (process.exitCode === 0) rmSync(dir, { recursive: true, force: true });
}
