// Background verification of an image's page data (see verify-worker.ts).
import { Worker } from 'node:worker_threads';
import { CkptError } from '../errors.js';
import type { ImageReader } from './reader.js';

export interface Verification {
  /** Block until the check is done; throws IMAGE_CORRUPT on a mismatch. */
  wait(timeoutMs?: number): void;
}

/** Below this much data, checking inline costs less than starting a worker. */
const WORKER_THRESHOLD = 32 << 20;

export function verifyInBackground(image: ImageReader): Verification {
  const refs = image.dataRefs();
  if (refs.reduce((n, r) => n + r.size, 0) < WORKER_THRESHOLD) {
    image.verifyData();
    return { wait() {} };
  }
  const shared = new SharedArrayBuffer(4 + 1024);
  const state = new Int32Array(shared, 0, 1);
  const worker = new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { path: image.path, refs, shared } });
  worker.unref();
  return {
    wait(timeoutMs = 600_000) {
      const r = Atomics.wait(state, 0, 0, timeoutMs);
      if (r === 'timed-out') throw new CkptError('IO', `verifying ${image.path} took too long`);
      if (Atomics.load(state, 0) !== 1) {
        const text = Buffer.from(new Uint8Array(shared, 4)).toString().replace(/\0.*$/s, '');
        throw new CkptError('IMAGE_CORRUPT', text || `${image.path}: data does not verify`, { path: image.path, hint: 'the image is damaged or incomplete; use another checkpoint' });
      }
    },
  };
}
