// Small helpers shared by the parts of the benchmark (scripts/bench.mjs):
// paths, logging, medians and number formatting, the filesystem of a
// directory, compiling a C workload.
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/src/cli/main.js');
export const MiB = 1 << 20;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const log = (s) => process.stderr.write(s + '\n');

/** Compile scripts/SOURCE with gcc -O2 -Wall into `bin`. */
export function compile(source, bin) {
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', bin, join(ROOT, 'scripts', source)], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed:\n${cc.stderr || cc.error}`);
  return bin;
}

/** Filesystem of `dir`: the longest mount point in /proc/mounts that contains it. */
export function fsInfo(dir) {
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

export function tailOf(file) {
  try { return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n'); } catch (e) { return `(${e.message})`; }
}

export function label(mib) {
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function rate(bytes, ms) {
  return bytes / MiB / (ms / 1000);
}

/** Print rows under a header, columns sized to fit: the first left-aligned, the others right-aligned. */
export function printTable(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(fmt(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(fmt(r));
}
