// Phase timings for ckpt's own profiling: set CKPT_TIMING=1 to print them.
const on = !!process.env.CKPT_TIMING;
let last = performance.now();

export function phase(name: string): void {
  if (!on) return;
  const now = performance.now();
  process.stderr.write(`[ckpt timing] ${name}: ${(now - last).toFixed(2)} ms\n`);
  last = now;
}
