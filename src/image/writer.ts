// Writes one image atomically: a temp file (0600) beside the final name,
// page data streamed straight from the target, notes last, headers at offset
// 0, fsync, rename, fsync of the directory. A failure leaves nothing behind.
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, readSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { mem } from '../sys/index.js';
import { CkptError } from '../errors.js';
import { encodeEhdr, encodeNotes, encodePhdr, EHDR_SIZE, PHDR_SIZE, type Note, type Phdr } from './elf.js';
import { hasher } from './hash.js';
import { FORMAT, NOTE_META, NOTE_OWNER, NOTE_SEAL, SEAL_MAGIC, SEAL_SIZE, type DataRef, type Meta } from './format.js';
import { hashHex } from './hash.js';

const PAGE = 4096;
const CHUNK = 8 << 20;
const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export class ImageWriter {
  readonly tempPath: string;
  private fd: number;
  private pos = 0;
  private buf = Buffer.allocUnsafe(CHUNK);
  private memFd = -1;
  private memPid = -1;
  private headerSpace = 0;
  /** Every non-memory data area written (file contents, pipe data), for the metadata. */
  readonly blobs: DataRef[] = [];

  constructor(readonly finalPath: string) {
    this.tempPath = join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      this.fd = openSync(this.tempPath, 'wx', 0o600);
    } catch (e) {
      throw new CkptError('IO', `cannot create the image in ${dirname(finalPath)}: ${(e as Error).message}`, { path: finalPath, cause: e, hint: 'choose a writable directory with -o' });
    }
  }

  /** Reserve room for the ELF header and `phnum` program headers; data starts page-aligned after. */
  reserveHeaders(phnum: number): void {
    // e_phnum is 16 bits and 0xffff means "see section 0" (PN_XNUM), which ckpt does not write.
    if (phnum >= 0xffff) {
      throw new CkptError('KIND_UNSUPPORTED', `the process has too many memory mappings for one image (${phnum} program headers, at most 65534)`);
    }
    this.headerSpace = alignUp(EHDR_SIZE + PHDR_SIZE * phnum, PAGE);
    this.pos = this.headerSpace;
  }

  get offset(): number {
    return this.pos;
  }

  /** Where page data starts (right after the headers). */
  get dataStart(): number {
    return this.headerSpace;
  }

  /**
   * Copy [start, start+len) of the target's memory into the image. Ranges in
   * `viaMem` are read through /proc/PID/mem, which does not pin pages (see
   * proc/pagemap.ts: pinning breaks copy-on-write sharing).
   */
  writeMemory(pid: number, start: number, len: number, viaMem: Array<{ start: number; end: number }> = []): DataRef {
    const offset = this.pos;
    const h = hasher();
    for (let done = 0; done < len; ) {
      const at = start + done;
      // A chunk never crosses a boundary between the two ways of reading.
      const inMem = viaMem.find((x) => x.start <= at && at < x.end);
      const next = inMem ? inMem.end : Math.min(...viaMem.filter((x) => x.start > at).map((x) => x.start), start + len);
      const n = Math.min(CHUNK, len - done, next - at);
      const b = this.buf.subarray(0, n);
      if (inMem) this.readMem(pid, at, b, 0);
      else this.readTarget(pid, at, b);
      h.update(b);
      this.write(b);
      done += n;
    }
    return { offset, size: len, hash: h.hex() };
  }

  /** Copy `len` bytes read from a local fd (a file ckpt opened) into the image, as a blob (or as page data). */
  writeFromFd(src: number, len: number, srcOffset = 0, asBlob = true): DataRef {
    const offset = this.pos;
    const h = hasher();
    for (let done = 0; done < len; ) {
      const n = Math.min(CHUNK, len - done);
      const got = readSync(src, this.buf, 0, n, srcOffset + done);
      if (got <= 0) throw new CkptError('IO', `file shrank while being saved (${done} of ${len} bytes)`);
      const b = this.buf.subarray(0, got);
      h.update(b);
      this.write(b);
      done += got;
    }
    if (!asBlob) return { offset, size: len, hash: h.hex() };
    this.pad(8);
    return this.blob({ offset, size: len, hash: h.hex() });
  }

  writeBlob(data: Buffer): DataRef {
    const offset = this.pos;
    this.write(data);
    this.pad(8);
    return this.blob({ offset, size: data.length, hash: hashHex(data) });
  }

  /** A plain core file: the core notes and the headers, no ckpt metadata (ckpt restore refuses it). */
  finishPlain(coreNotes: Note[], loads: Phdr[]): number {
    this.pad(8);
    const body = encodeNotes(coreNotes);
    const notesAt = this.pos;
    this.write(body);
    return this.publish([{ type: 4, flags: 4, offset: notesAt, vaddr: 0, filesz: body.length, memsz: 0, align: 4 }, ...loads]);
  }

  /** Write the notes (core notes, then ckpt's metadata and seal), the headers, and publish the file. */
  finish(coreNotes: Note[], meta: Meta, loads: Phdr[]): number {
    this.pad(8);
    const metaBytes = Buffer.from(JSON.stringify(meta));
    const seal = Buffer.alloc(SEAL_SIZE);
    const body = encodeNotes([...coreNotes, { name: NOTE_OWNER, type: NOTE_META, desc: metaBytes }]);
    const notesAt = this.pos;
    const fileSize = notesAt + body.length + encodeNotes([{ name: NOTE_OWNER, type: NOTE_SEAL, desc: seal }]).length;
    seal.write(SEAL_MAGIC, 0, 'latin1');
    seal.writeUInt16LE(FORMAT.major, 8);
    seal.writeUInt16LE(FORMAT.minor, 10);
    seal.writeBigUInt64LE(BigInt(fileSize), 16);
    seal.writeBigUInt64LE(BigInt('0x' + hashHex(metaBytes)), 24); // CRC-32 in a 64-bit field
    const sealed = encodeNotes([{ name: NOTE_OWNER, type: NOTE_SEAL, desc: seal }]);
    this.write(body);
    this.write(sealed);
    return this.publish([{ type: 4, flags: 4, offset: notesAt, vaddr: 0, filesz: body.length + sealed.length, memsz: 0, align: 4 }, ...loads]);
  }

  /** Headers at offset 0, fsync, rename into place, fsync the directory. Returns the file size. */
  private publish(phdrs: Phdr[]): number {
    const fileSize = this.pos;
    const head = Buffer.concat([encodeEhdr(phdrs.length), ...phdrs.map(encodePhdr)]);
    if (head.length > this.headerSpace) throw new Error('internal: program headers outgrew their reserved space');
    writeSync(this.fd, head, 0, head.length, 0);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tempPath, this.finalPath);
    try {
      const dfd = openSync(dirname(this.finalPath), 'r');
      fsyncSync(dfd);
      closeSync(dfd);
    } catch { /* directory fsync is best effort on odd filesystems */ }
    this.closeMem();
    return fileSize;
  }

  private blob(ref: DataRef): DataRef {
    this.blobs.push(ref);
    return ref;
  }

  abort(): void {
    if (this.fd >= 0) {
      try { closeSync(this.fd); } catch { /* ignore */ }
      this.fd = -1;
    }
    try { unlinkSync(this.tempPath); } catch { /* never created or already gone */ }
    this.closeMem();
  }

  private readTarget(pid: number, at: number, into: Buffer): void {
    let n = 0;
    try {
      n = mem.readInto(pid, at, into);
    } catch { /* e.g. a PROT_NONE page: fall through to /proc/PID/mem */ }
    if (n === into.length) return;
    // /proc/PID/mem reads with FOLL_FORCE, so it sees pages the target cannot.
    this.readMem(pid, at, into, n);
  }

  private readMem(pid: number, at: number, into: Buffer, from: number): void {
    if (this.memFd < 0 || this.memPid !== pid) {
      this.closeMem();
      this.memFd = openSync(`/proc/${pid}/mem`, 'r');
      this.memPid = pid;
    }
    let done = from;
    while (done < into.length) {
      const got = readSync(this.memFd, into, done, into.length - done, at + done);
      if (got <= 0) throw new CkptError('IO', `cannot read memory of ${pid} at 0x${(at + done).toString(16)}`, { pid });
      done += got;
    }
  }

  private closeMem() {
    if (this.memFd >= 0) closeSync(this.memFd);
    this.memFd = -1;
  }

  private write(b: Buffer) {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, this.pos + done);
    this.pos += b.length;
  }

  private pad(a: number) {
    const n = alignUp(this.pos, a) - this.pos;
    if (n) this.write(Buffer.alloc(n));
  }
}
