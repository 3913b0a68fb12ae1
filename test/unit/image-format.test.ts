// The image: ELF codecs, notes, and a full write/read round trip of a small
// synthetic image, including truncation and corruption being caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, statSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNotes, decodeNotes, encodeEhdr, decodeEhdr, encodePhdr, decodePhdr, prstatus, prpsinfo, ntFile } from '../../src/image/elf.js';
import { ImageWriter } from '../../src/image/writer.js';
import { ImageReader } from '../../src/image/reader.js';
import { FORMAT, type Meta } from '../../src/image/format.js';
import { CkptError } from '../../src/errors.js';

test('notes round trip with 4-byte padding', () => {
  const notes = [
    { name: 'CORE', type: 1, desc: Buffer.from([1, 2, 3]) },
    { name: 'LINUX', type: 0x202, desc: Buffer.alloc(10, 7) },
    { name: 'CKPT', type: 0x434b0001, desc: Buffer.from('{}') },
  ];
  const b = encodeNotes(notes);
  assert.equal(b.length % 4, 0);
  const back = decodeNotes(b);
  assert.deepEqual(back.map((n) => [n.name, n.type, [...n.desc]]), notes.map((n) => [n.name, n.type, [...n.desc]]));
});

test('ELF header and program headers', () => {
  assert.deepEqual(decodeEhdr(encodeEhdr(3)), { phoff: 64, phnum: 3 });
  const p = { type: 1, flags: 6, offset: 8192, vaddr: 0x7f0000000000, filesz: 4096, memsz: 8192, align: 4096 };
  assert.deepEqual(decodePhdr(encodePhdr(p), 0), p);
  assert.throws(() => decodeEhdr(Buffer.alloc(64)), /not an ELF/);
});

test('core note structures have the kernel sizes', () => {
  const regs = Buffer.alloc(216, 1);
  const ps = prstatus({ signal: 0, pid: 5, ppid: 1, pgrp: 5, sid: 5, sigpend: 0n, sighold: 0n, regs });
  assert.equal(ps.length, 336);
  assert.equal(ps.readInt32LE(32), 5);
  assert.equal(ps[112], 1);
  assert.equal(prpsinfo({ state: 'S', pid: 5, ppid: 1, pgrp: 5, sid: 5, uid: 0, gid: 0, fname: 'x', args: 'x y' }).length, 136);
  const nf = ntFile([{ start: 0x1000, end: 0x3000, offset: 0x2000, path: '/bin/x' }]);
  assert.equal(nf.readBigUInt64LE(0), 1n);
  assert.equal(nf.readBigUInt64LE(32), 2n); // offset in pages
  assert.equal(nf.toString('latin1', 40), '/bin/x\0');
});

function sampleMeta(): Meta {
  return {
    format: { ...FORMAT }, tool: { name: 'ckpt', version: 'test' }, createdAt: new Date().toISOString(),
    host: { hostname: 'h', kernel: 'k', arch: process.arch }, dump: { frozenMs: 1, leftRunning: true },
    process: {
      pid: 123, ppid: 1, comm: 'x', cmdline: ['x'], exe: null, cwd: '/', umask: 0o22, uid: [0, 0, 0, 0], gid: [0, 0, 0, 0],
      groups: [], personality: 0, rlimits: [], auxv: '', stopped: false, pdeathSig: 0, childSubreaper: false, thpDisable: false, filesOfParent: false, noNewPrivs: false,
      mm: { startCode: 1, endCode: 2, startData: 3, endData: 4, startBrk: 5, brk: 6, startStack: 7, argStart: 8, argEnd: 9, envStart: 10, envEnd: 11 },
    },
    threads: [{
      tid: 123, name: 'x', regs: Buffer.alloc(216).toString('base64'), xstate: Buffer.alloc(576).toString('base64'), sigmask: '0', pending: [], rseq: null,
      robustList: { head: 0, len: 0 }, clearChildTid: 0, altstack: { sp: 0, flags: 2, size: 0 }, sleepRemainingNs: null,
    }],
    signals: { actions: [], sharedPending: [] }, timers: { itimers: [], posix: [] }, vmas: [], files: [], members: [], zombies: [], blobs: [], freeze: null,
  };
}

test('writer and reader: round trip, 0600, no temp left, corruption caught', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-unit-'));
  try {
    const path = join(dir, 'x.ckpt');
    const w = new ImageWriter(path);
    w.reserveHeaders(2);
    const blob = w.writeBlob(Buffer.from('hello, blob'));
    const meta = sampleMeta();
    meta.blobs = w.blobs;
    const size = w.finish([{ name: 'CORE', type: 6, desc: Buffer.alloc(16) }], meta, [{ type: 1, flags: 4, offset: 0, vaddr: 0x10000, filesz: 0, memsz: 4096, align: 4096 }]);
    assert.equal(statSync(path).size, size);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['x.ckpt']);

    const r = ImageReader.open(path);
    assert.equal(r.meta.process.pid, 123);
    assert.equal(r.readBlob(blob).toString(), 'hello, blob');
    r.verifyData();
    r.close();

    const good = readFileSync(path);
    // Truncated: the notes (at the end) are gone.
    writeFileSync(path, good.subarray(0, good.length - 100));
    assert.throws(() => ImageReader.open(path), (e: unknown) => e instanceof CkptError && e.code === 'IMAGE_CORRUPT');
    // A flipped byte in the blob: caught by verification.
    const bad = Buffer.from(good);
    bad[blob.offset + 2] ^= 0xff;
    writeFileSync(path, bad);
    const r2 = ImageReader.open(path);
    assert.throws(() => r2.verifyData(), /checksum mismatch/);
    r2.close();
    // A flipped byte in the metadata.
    const bad2 = Buffer.from(good);
    const at = good.indexOf(Buffer.from('"comm":"x"'));
    bad2[at + 8] = 'y'.charCodeAt(0);
    writeFileSync(path, bad2);
    assert.throws(() => ImageReader.open(path), /metadata checksum/);
    // Not an image at all.
    writeFileSync(path, 'hello');
    assert.throws(() => ImageReader.open(path), (e: unknown) => e instanceof CkptError && e.code === 'IMAGE_CORRUPT');
    assert.throws(() => ImageReader.open(join(dir, 'missing.ckpt')), (e: unknown) => e instanceof CkptError && e.code === 'IMAGE_NOT_FOUND');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the reader refuses metadata that describes no sane process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-unit-'));
  try {
    const write = (name: string, edit: (m: Meta) => void) => {
      const path = join(dir, name);
      const w = new ImageWriter(path);
      w.reserveHeaders(1);
      const meta = sampleMeta();
      edit(meta);
      w.finish([], meta, []);
      return path;
    };
    const corruptWith = (re: RegExp) => (e: unknown) => e instanceof CkptError && e.code === 'IMAGE_CORRUPT' && re.test(e.message);
    assert.throws(() => ImageReader.open(write('a.ckpt', (m) => { m.threads[0].tid = 124; })), corruptWith(/no main thread/));
    assert.throws(() => ImageReader.open(write('b.ckpt', (m) => { m.threads.push({ ...m.threads[0] }); })), corruptWith(/TID twice/));
    assert.throws(() => ImageReader.open(write('c.ckpt', (m) => { m.threads[0].regs = ''; })), corruptWith(/register set/));
    assert.throws(() => ImageReader.open(write('d.ckpt', (m) => {
      m.files = [{ fd: 1, kind: 'dup', cloexec: false, state: { of: 0 }, locks: [] }];
    })), corruptWith(/dup of a missing fd/));
    assert.throws(() => ImageReader.open(write('e.ckpt', (m) => {
      m.files = [{ fd: 0, kind: 'chardev', cloexec: false, state: { path: '/dev/null', flags: 0 }, locks: [] }, { fd: 0, kind: 'chardev', cloexec: false, state: { path: '/dev/null', flags: 0 }, locks: [] }];
    })), corruptWith(/appears twice/));
    assert.throws(() => ImageReader.open(write('f.ckpt', (m) => { m.vmas = [{ start: 0x2000, end: 0x1000, prot: 'rw-', shared: false, backing: 'anon', name: '', growsDown: false, runs: [] }]; })), corruptWith(/bad mapping/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an aborted write leaves nothing behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-unit-'));
  try {
    const w = new ImageWriter(join(dir, 'y.ckpt'));
    w.reserveHeaders(1);
    w.writeBlob(Buffer.alloc(100));
    w.abort();
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
