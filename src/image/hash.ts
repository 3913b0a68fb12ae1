// Page data and metadata are checksummed with xxHash64: ~10 GB/s in Node
// (WebAssembly), so integrity costs little next to the disk.
import xxhash from 'xxhash-wasm';

const api = await xxhash();

export interface Hasher { update(b: Uint8Array): void; hex(): string }

export function hasher(): Hasher {
  const h = api.create64();
  return {
    update(b: Uint8Array) { h.update(b); },
    hex() { return h.digest().toString(16).padStart(16, '0'); },
  };
}

export function hashHex(b: Uint8Array): string {
  return api.h64Raw(b).toString(16).padStart(16, '0');
}
