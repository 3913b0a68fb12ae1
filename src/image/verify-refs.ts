// Checksum verification of data areas; kept free of heavy imports so the
// verification worker starts fast.
import { readSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { hasher } from './hash.js';
import type { DataRef } from './format.js';

function corrupt(path: string, what: string): CkptError {
  return new CkptError('IMAGE_CORRUPT', `${path}: ${what}`, { path, hint: 'the image is damaged or incomplete; use another checkpoint' });
}

export function verifyRefs(path: string, fd: number, refs: DataRef[]): void {
  const CH = 8 << 20;
  const buf = Buffer.allocUnsafe(CH);
  for (const r of refs) {
    const h = hasher();
    for (let done = 0; done < r.size; ) {
      const n = Math.min(CH, r.size - done);
      const got = readSync(fd, buf, 0, n, r.offset + done);
      if (got !== n) throw corrupt(path, 'truncated data');
      h.update(buf.subarray(0, n));
      done += n;
    }
    if (h.hex() !== r.hash) throw corrupt(path, `checksum mismatch in data at offset ${r.offset} (${r.size} bytes)`);
  }
}
