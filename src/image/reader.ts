// Opens an image and validates it before anyone acts on it: ELF headers,
// the seal (size and metadata checksum), the metadata schema, and, on
// request, every byte of page data against its checksum.
import { openSync, fstatSync, readSync, closeSync } from 'node:fs';
import { CkptError } from '../errors.js';
import { decodeEhdr, decodeNotes, decodePhdr, EHDR_SIZE, PHDR_SIZE, PT_LOAD, PT_NOTE, type Note, type Phdr } from './elf.js';
import { hashHex } from './hash.js';
import { verifyRefs } from './verify-refs.js';
import * as v from 'valibot';
import { COVERED, READABLE_MAJORS, Meta, processesOf, type ProcessImage, NOTE_META, NOTE_OWNER, NOTE_SEAL, SEAL_MAGIC, SEAL_SIZE, type DataRef } from './format.js';

const MAX_NOTES = 256 << 20;

function corrupt(path: string, what: string, cause?: unknown): CkptError {
  return new CkptError('IMAGE_CORRUPT', `${path}: ${what}`, { path, cause, hint: 'the image is damaged or incomplete; use another checkpoint' });
}

/**
 * The metadata must describe a sane address space before restore acts on it:
 * page-aligned, ordered, non-overlapping mappings in user space, runs inside
 * their mapping, data areas inside the file.
 */
function checkLayout(path: string, meta: Meta, size: number): void {
  for (const b of meta.blobs) if (b.offset + b.size > size) throw corrupt(path, 'a data area lies past the end of the file');
  const all = processesOf(meta);
  const pids = new Set<number>();
  for (const p of all) {
    const who = all.length > 1 ? ` of process ${p.process.pid}` : '';
    checkProcess(path, p, size, who);
    for (const t of p.threads) {
      if (pids.has(t.tid)) throw corrupt(path, `PID/TID ${t.tid} appears twice`);
      pids.add(t.tid);
    }
  }
  // A run without a checksum of its own lies inside one that has one.
  const hashed = all.flatMap((p) => p.vmas).flatMap((v) => v.runs).filter((r) => r.hash !== COVERED).map((r) => [r.offset, r.offset + r.end - r.start]).sort((a, b) => a[0] - b[0]);
  for (const r of all.flatMap((p) => p.vmas).flatMap((v) => v.runs)) {
    if (r.hash !== COVERED) continue;
    const end = r.offset + r.end - r.start;
    let lo = 0, hi = hashed.length - 1, found = false;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (hashed[mid][0] <= r.offset) { found = end <= hashed[mid][1]; lo = mid + 1; } else hi = mid - 1;
    }
    if (!found) throw corrupt(path, `page run at 0x${r.start.toString(16)} has no checksum covering it`);
  }
  // The tree: every member and zombie has an earlier process of the image as its parent.
  const seen = new Set([meta.process.pid]);
  for (const m of meta.members) {
    if (!seen.has(m.process.ppid)) throw corrupt(path, `process ${m.process.pid} has no parent in the image`);
    seen.add(m.process.pid);
  }
  for (const z of meta.zombies) {
    if (!seen.has(z.ppid) || pids.has(z.pid)) throw corrupt(path, `zombie ${z.pid}: bad parent or a PID twice`);
    pids.add(z.pid);
  }
}

/**
 * One process's metadata must describe a sane address space before restore
 * acts on it: page-aligned, ordered, non-overlapping mappings in user space,
 * runs inside their mapping; a main thread; fds each once.
 */
function checkProcess(path: string, p: ProcessImage, size: number, who: string): void {
  const PAGE = 4096;
  const USER_END = 0x7ffffffff000;
  let prevEnd = 0;
  for (const v of p.vmas) {
    const where = `mapping 0x${v.start.toString(16)}-0x${v.end.toString(16)}${who}`;
    if (v.start % PAGE || v.end % PAGE || v.end <= v.start || v.start < prevEnd || v.end > USER_END) throw corrupt(path, `bad ${where}`);
    prevEnd = v.end;
    let runEnd = v.start;
    for (const r of v.runs) {
      if (r.start % PAGE || r.end % PAGE || r.start < runEnd || r.end <= r.start || r.end > v.end || r.offset % PAGE) throw corrupt(path, `bad page run in ${where}`);
      if (r.offset + (r.end - r.start) > size) throw corrupt(path, 'page data past the end of the file');
      runEnd = r.end;
    }
  }
  // Threads: the main one (TID = PID) among them, each TID once, register sets of the right size.
  const tids = new Set(p.threads.map((t) => t.tid));
  if (!tids.has(p.process.pid) || tids.size !== p.threads.length) throw corrupt(path, `bad thread list${who} (no main thread, or a TID twice)`);
  for (const t of p.threads) {
    if (Buffer.from(t.regs, 'base64').length !== 216 || Buffer.from(t.xstate, 'base64').length < 512) throw corrupt(path, `bad register set for thread ${t.tid}`);
  }
  // File descriptors: each number once; a dup refers to a lower fd that exists.
  const fds = new Set(p.files.map((f) => f.fd));
  if (fds.size !== p.files.length) throw corrupt(path, `an fd number appears twice${who}`);
  for (const f of p.files) {
    const of = f.kind === 'dup' ? (f.state as { of?: unknown }).of : undefined;
    if (f.kind === 'dup' && (typeof of !== 'number' || of >= f.fd || !fds.has(of))) throw corrupt(path, `fd ${f.fd}${who} is a dup of a missing fd`);
  }
}

export class ImageReader {
  private constructor(
    readonly path: string,
    readonly fd: number,
    readonly size: number,
    readonly meta: Meta,
    readonly notes: Note[],
    readonly loads: Phdr[],
  ) {}

  static open(path: string): ImageReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new CkptError(code === 'ENOENT' ? 'IMAGE_NOT_FOUND' : 'IO', `cannot open image ${path}: ${code ?? (e as Error).message}`, { path, cause: e });
    }
    try {
      return ImageReader.parse(path, fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private static parse(path: string, fd: number): ImageReader {
    const size = fstatSync(fd).size;
    const read = (at: number, len: number) => {
      if (at + len > size) throw corrupt(path, `truncated: needs ${at + len} bytes, file has ${size}`);
      const b = Buffer.alloc(len);
      if (readSync(fd, b, 0, len, at) !== len) throw corrupt(path, 'short read');
      return b;
    };
    let eh;
    try {
      eh = decodeEhdr(read(0, EHDR_SIZE));
    } catch (e) {
      if (e instanceof CkptError) throw e;
      throw corrupt(path, `not a ckpt image (${(e as Error).message})`, e);
    }
    const ph = read(eh.phoff, eh.phnum * PHDR_SIZE);
    const phdrs = Array.from({ length: eh.phnum }, (_, i) => decodePhdr(ph, i * PHDR_SIZE));
    const noteHdr = phdrs.find((p) => p.type === PT_NOTE);
    if (!noteHdr) throw corrupt(path, 'no PT_NOTE segment');
    if (noteHdr.filesz > MAX_NOTES) throw corrupt(path, 'note segment too large');
    let notes: Note[];
    try {
      notes = decodeNotes(read(noteHdr.offset, noteHdr.filesz));
    } catch (e) {
      if (e instanceof CkptError) throw e;
      throw corrupt(path, `damaged notes (${(e as Error).message})`, e);
    }
    const seal = notes.find((n) => n.name === NOTE_OWNER && n.type === NOTE_SEAL);
    const metaNote = notes.find((n) => n.name === NOTE_OWNER && n.type === NOTE_META);
    if (!seal || !metaNote) throw corrupt(path, 'not a ckpt image (a core file without ckpt notes)');
    if (seal.desc.length !== SEAL_SIZE || seal.desc.toString('latin1', 0, 8) !== SEAL_MAGIC) throw corrupt(path, 'bad seal');
    const major = seal.desc.readUInt16LE(8);
    const minor = seal.desc.readUInt16LE(10);
    if (!READABLE_MAJORS.includes(major)) {
      throw new CkptError('IMAGE_VERSION', `${path}: image format ${major}.${minor} is not supported by this ckpt (reads ${READABLE_MAJORS.join('.x, ')}.x)`, { path, hint: 'use the ckpt version that wrote it' });
    }
    const wantSize = Number(seal.desc.readBigUInt64LE(16));
    if (wantSize !== size) throw corrupt(path, `size is ${size} bytes, the image was written with ${wantSize}${size < wantSize ? ' (truncated)' : ''}`);
    const metaHash = seal.desc.readBigUInt64LE(24).toString(16).padStart(8, '0');
    if (hashHex(metaNote.desc) !== metaHash) throw corrupt(path, 'metadata checksum mismatch');
    let meta: Meta;
    try {
      meta = v.parse(Meta, JSON.parse(metaNote.desc.toString('utf8')));
    } catch (e) {
      throw corrupt(path, `metadata does not validate: ${(e as Error).message.slice(0, 500)}`, e);
    }
    if (meta.format.major !== major || meta.format.minor !== minor) throw corrupt(path, 'metadata and seal disagree on the format version');
    checkLayout(path, meta, size);
    const loads = phdrs.filter((p) => p.type === PT_LOAD);
    // Every page run of the root must be described identically by a PT_LOAD
    // header (the other processes' pages are data gdb does not see).
    const byAddr = new Map(loads.filter((l) => l.filesz > 0).map((l) => [l.vaddr, l]));
    for (const v of meta.vmas) {
      for (const r of v.runs) {
        const l = byAddr.get(r.start);
        if (!l || l.offset !== r.offset || l.filesz !== r.end - r.start) throw corrupt(path, `program headers disagree with the metadata at 0x${r.start.toString(16)}`);
      }
    }
    return new ImageReader(path, fd, size, meta, notes, loads);
  }

  /** Every data area the image holds: page runs and blobs. */
  dataRefs(): DataRef[] {
    const runs = processesOf(this.meta).flatMap((p) => p.vmas).flatMap((v) => v.runs).filter((r) => r.hash !== COVERED)
      .map((r) => ({ offset: r.offset, size: r.end - r.start, hash: r.hash }));
    // A run of one process may point at another's data (copy-on-write pages): check each area once.
    const seen = new Set<string>();
    return [...runs, ...this.meta.blobs].filter((r) => !seen.has(`${r.offset}:${r.size}`) && !!seen.add(`${r.offset}:${r.size}`));
  }

  /** Check every data area against its checksum. */
  verifyData(): void {
    verifyRefs(this.path, this.fd, this.dataRefs());
  }

  readBlob(ref: DataRef): Buffer {
    const b = Buffer.alloc(ref.size);
    if (readSync(this.fd, b, 0, ref.size, ref.offset) !== ref.size) throw corrupt(this.path, 'short read of a data area');
    if (hashHex(b) !== ref.hash) throw corrupt(this.path, `checksum mismatch in data at offset ${ref.offset}`);
    return b;
  }

  close(): void {
    closeSync(this.fd);
  }
}
