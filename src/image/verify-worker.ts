// Checks an image's data areas against their checksums on a worker thread,
// so verification overlaps with the restore reading the same pages.
import { workerData } from 'node:worker_threads';
import { openSync, closeSync } from 'node:fs';
import { verifyRefs } from './verify-refs.js';
import type { DataRef } from './format.js';

const { path, refs, shared } = workerData as { path: string; refs: DataRef[]; shared: SharedArrayBuffer };
const state = new Int32Array(shared, 0, 1);
const msg = new Uint8Array(shared, 4);
let result = 1;
try {
  const fd = openSync(path, 'r');
  try { verifyRefs(path, fd, refs); } finally { closeSync(fd); }
} catch (e) {
  result = 2;
  msg.set(Buffer.from(String((e as Error).message ?? e)).subarray(0, msg.length - 1));
}
Atomics.store(state, 0, result);
Atomics.notify(state, 0);
