// Page data and metadata are checksummed with CRC-32 (zlib's, native and
// vectorised: ~4 GB/s from the first call, where a WebAssembly xxHash needs
// tens of milliseconds to warm up in a one-shot command). The checksums catch
// truncation and accidental corruption; they are not a defence against forgery.
import { crc32 } from 'node:zlib';

export interface Hasher { update(b: Uint8Array): void; hex(): string }

export function hasher(): Hasher {
  let crc = 0;
  return {
    update(b: Uint8Array) { crc = crc32(b, crc); },
    hex() { return crc.toString(16).padStart(8, '0'); },
  };
}

export function hashHex(b: Uint8Array): string {
  return crc32(b).toString(16).padStart(8, '0');
}
