// A scratch area mapped inside the target for syscall arguments (strings,
// structs, out-buffers): a bump allocator over remote memory.
import { mem } from '../sys/index.js';

export class Scratch {
  private next: number;
  constructor(readonly pid: number, readonly base: number, readonly size: number) {
    this.next = base;
  }

  alloc(len: number, align = 16): number {
    const a = Math.ceil(this.next / align) * align;
    if (a + len > this.base + this.size) throw new Error(`scratch area of ${this.size} bytes exhausted`);
    this.next = a + len;
    return a;
  }

  put(data: Buffer): number {
    const a = this.alloc(data.length);
    mem.write(this.pid, a, data);
    return a;
  }

  str(s: string): number {
    return this.put(Buffer.from(s + '\0'));
  }

  read(at: number, len: number): Buffer {
    return mem.read(this.pid, at, len);
  }

  /** Forget every allocation (call between independent steps). */
  reset(): void {
    this.next = this.base;
  }
}
