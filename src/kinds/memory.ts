// Memory: every mapping at its address with its protections. Dump saves
// only pages that exist (present or swapped) and that no file holds: all of
// anonymous memory, and the copied-on-write pages of private file mappings.
// Clean file pages and shared file mappings are references checked on restore.
import { statSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseMaps, type MapEntry } from '../proc/maps.js';
import { savedRuns, openPagemap, closePagemap } from '../proc/pagemap.js';
import { CkptError } from '../errors.js';
import { identityOf, requireUnchanged, currentIdentity } from './file-identity.js';
import { MAP, PROT, SYS, O, AT_FDCWD } from '../sys/index.js';
import type { ImageWriter } from '../image/writer.js';
import { writeRunSharing, type CowSource } from './memory-cow.js';
import { adviceOf, restoreAdvice, MAP_FLAGS } from './memory-advice.js';
import type { Vma } from '../image/format.js';
import type { Tracee } from '../tracee/tracee.js';
import type { Scratch } from '../tracee/scratch.js';

const SPECIAL = new Set(['[vdso]', '[vvar]', '[vvar_vclock]']);
const MAX_RW = 0x7ffff000;
const MADV_POPULATE_WRITE = 23;
const POPULATE_MIN = 1 << 20;

export type VmaPlan = Omit<Vma, 'runs'> & { runs: Array<{ start: number; end: number; notExclusive?: Array<{ start: number; end: number }> }> };

function prot(m: MapEntry): string {
  return `${m.read ? 'r' : '-'}${m.write ? 'w' : '-'}${m.exec ? 'x' : '-'}`;
}

/**
 * Shared objects (MAP_SHARED|MAP_ANONYMOUS memory, deleted files mapped
 * shared) already planned, by device:inode: which pages of each object some
 * mapping of the tree already saves (as [first, end) page ranges).
 */
export type ShmemSeen = Map<string, Array<[number, number]>>;

/** The parts of pages [from, to) of the object that no earlier mapping covers. */
function uncovered(seen: ShmemSeen, key: string, from: number, to: number): Array<[number, number]> {
  let parts: Array<[number, number]> = [[from, to]];
  for (const [a, b] of seen.get(key) ?? []) {
    parts = parts.flatMap(([x, y]): Array<[number, number]> => (b <= x || a >= y ? [[x, y]] : [...(a > x ? [[x, a] as [number, number]] : []), ...(b < y ? [[b, y] as [number, number]] : [])]));
  }
  return parts;
}

/** Pages of the object now saved (only what a mapping has present: another may have more). */
function cover(seen: ShmemSeen, key: string, runs: Array<{ start: number; end: number }>, start: number, pgoff: number): void {
  seen.set(key, [...(seen.get(key) ?? []), ...runs.map((r): [number, number] => [pgoff + (r.start - start) / 4096, pgoff + (r.end - start) / 4096])]);
}

/** Restore side: where each shared object was first made again (pid, mapping), to map it again from there. */
export type ShmemMade = Map<string, { pid: number; start: number; end: number }>;

/** Decide, mapping by mapping, what the image will hold. */
export function planMemory(pid: number, startStack: number, shmemSeen: ShmemSeen = new Map(), openFiles: Set<string> = new Set()): VmaPlan[] {
  const maps = parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
  const { advice, mayWrite, growsDown } = adviceOf(pid);
  const pm = openPagemap(pid);
  try {
    const out: VmaPlan[] = [];
    for (const m of maps) {
      if (m.path === '[vsyscall]') continue; // fixed by the kernel, outside user space
      const adv = advice.get(m.start) as Vma['advice'];
      const base = { start: m.start, end: m.end, prot: prot(m), shared: m.shared, name: m.path, growsDown: growsDown.has(m.start) || (m.start <= startStack && startStack < m.end && m.path === '[stack]'), ...(adv ? { advice: adv } : {}) };
      if (SPECIAL.has(m.path)) {
        out.push({ ...base, backing: 'special', runs: [] });
      } else if (m.shared && m.deleted) {
        // One shared object (MAP_SHARED|MAP_ANONYMOUS memory, or a deleted file such as a POSIX
        // semaphore), maybe mapped by several processes of the tree: the first holds the pages.
        const anon = m.path === '/dev/zero';
        if (!anon) refuseSpecialShared(pid, m);
        const key = `${m.dev}:${m.inode}`;
        const pgoff = m.offset / 4096;
        const pages = (m.end - m.start) / 4096;
        const st = statSync(`/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`);
        const shmem = { ino: m.inode, pgoff, dev: m.dev, size: st.size };
        // Only the pages no earlier mapping of the object (in this process or another) saves.
        const fresh = uncovered(shmemSeen, key, pgoff, pgoff + pages).map(([a, b]) => [m.start + (a - pgoff) * 4096, m.start + (b - pgoff) * 4096]);
        if (anon) {
          const runs = fresh.flatMap(([a, b]) => savedRuns(pm, a, b, false));
          cover(shmemSeen, key, runs, m.start, pgoff);
          out.push({ ...base, name: '', backing: 'anon', shmem, runs });
        } else {
          if (openFiles.has(`${st.dev}:${st.ino}`)) {
            // Recreated twice (as a mapping and as an open fd) they would be two files: refused rather than split.
            throw new CkptError('KIND_UNSUPPORTED', `deleted file ${m.path}, mapped shared at 0x${m.start.toString(16)} of process ${pid}, is also open as an fd (not supported yet)`, { pid, path: m.path });
          }
          // Every page of the file inside the mapping: nothing else holds them.
          const fileEnd = Math.min(m.end, m.start + Math.max(0, Math.ceil((st.size - m.offset) / 4096)) * 4096);
          const runs = fresh.map(([a, b]) => [a, Math.min(b, fileEnd)]).filter(([a, b]) => b > a).map(([a, b]) => ({ start: a, end: b, notExclusive: [{ start: a, end: b }] }));
          cover(shmemSeen, key, runs, m.start, pgoff);
          out.push({
            ...base, name: `${m.path} (deleted)`, backing: 'anon', shmem, runs,
            deletedFile: { path: m.path, size: st.size, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid },
          });
        }
      } else if (m.inode === 0) {
        // Private anonymous memory ([heap], [stack], malloc arenas).
        out.push({ ...base, name: m.path, backing: 'anon', runs: savedRuns(pm, m.start, m.end, false) });
      } else if (m.deleted) {
        // A private mapping of a deleted file: no file to refer to, so keep every page that exists.
        const st = statSync(`/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`);
        const fileEnd = Math.min(m.end, m.start + Math.ceil(Math.max(0, st.size - m.offset) / 4096) * 4096);
        const runs = fileEnd > m.start ? [{ start: m.start, end: fileEnd, notExclusive: [{ start: m.start, end: fileEnd }] }] : [];
        const rest = savedRuns(pm, fileEnd, m.end, false);
        out.push({ ...base, name: `${m.path} (deleted)`, backing: 'anon', runs: [...runs, ...rest] });
      } else {
        const st = statSync(`/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, { bigint: true });
        out.push({
          ...base,
          backing: 'file',
          file: { ...identityOf(m.path, st), offset: m.offset },
          ...(m.shared && !m.write && mayWrite.has(m.start) ? { mayWrite: true } : {}),
          runs: m.shared ? [] : savedRuns(pm, m.start, m.end, true),
        });
      }
    }
    return out;
  } finally {
    closePagemap(pm);
  }
}

/** Shared mappings of kernel objects that only look like deleted files. */
function refuseSpecialShared(pid: number, m: MapEntry): void {
  const at = `at 0x${m.start.toString(16)} of process ${pid}`;
  if (m.path === '/[aio]') throw new CkptError('KIND_UNSUPPORTED', `an AIO ring (io_setup) ${at} (not supported yet)`, { pid });
  if (m.path.startsWith('/SYSV')) throw new CkptError('KIND_UNSUPPORTED', `System V shared memory ${m.path} ${at} (not supported yet)`, { pid });
  if (m.path.startsWith('/memfd:')) throw new CkptError('KIND_UNSUPPORTED', `a shared mapping of memfd ${m.path.slice(1)} ${at} (not supported yet)`, { pid });
  if (!m.path.startsWith('/')) throw new CkptError('KIND_UNSUPPORTED', `a shared mapping of ${m.path} ${at} (not supported yet)`, { pid });
}

/**
 * Copy the planned pages into the image; returns the final records. With
 * `cow` (the parent in the tree, already written), pages still shared with
 * it since fork point at its data instead (memory-cow.ts).
 */
export function writeMemory(pid: number, plan: VmaPlan[], writer: ImageWriter, progress?: (bytes: number) => void, cow?: CowSource): Vma[] {
  const write = (start: number, end: number, viaMem: Array<{ start: number; end: number }> = []) => {
    const ref = writer.writeMemory(pid, start, end - start, viaMem.filter((x) => x.start < end && x.end > start));
    progress?.(ref.size);
    return { start, end, offset: ref.offset, hash: ref.hash };
  };
  return plan.map((v) => ({
    ...v,
    runs: v.runs.flatMap((r) => (cow && !v.shared ? writeRunSharing(pid, cow, r, (a, b) => write(a, b, r.notExclusive)) : [write(r.start, r.end, r.notExclusive)])),
  }));
}

/** Restore preflight: every mapped file is still the file that was mapped. */
export function checkMappedFiles(vmas: Vma[]): void {
  const seen = new Set<string>();
  for (const v of vmas) {
    if (v.backing !== 'file' || !v.file || seen.has(v.file.path)) continue;
    seen.add(v.file.path);
    if (v.shared) {
      // The process itself writes shared file mappings: same file, large enough.
      const now = currentIdentity(v.file.path, 'mapped file');
      if (now.dev !== v.file.dev || now.ino !== v.file.ino) {
        throw new CkptError('FILE_CHANGED', `mapped file ${v.file.path} was replaced since the checkpoint`, { path: v.file.path });
      }
      if (now.size < v.file.offset + (v.end - v.start) && now.size < v.file.size) {
        throw new CkptError('FILE_CHANGED', `mapped file ${v.file.path} shrank since the checkpoint (${v.file.size} -> ${now.size} bytes)`, { path: v.file.path });
      }
    } else {
      requireUnchanged(v.file, 'mapped file');
    }
  }
}

const protBits = (p: string) => (p[0] === 'r' ? PROT.READ : 0) | (p[1] === 'w' ? PROT.WRITE : 0) | (p[2] === 'x' ? PROT.EXEC : 0);

/**
 * Rebuild every mapping inside the target (which must hold nothing but the
 * trampoline), reading page data straight from the image open there as
 * `imageFd`: first every mapping (writable where pages go), then the pages —
 * runs lie back to back in the image, so one preadv fills many of them —
 * then the final protections.
 */
export function restoreMemory(t: Tracee, scratch: Scratch, vmas: Vma[], imageFd: number, shmemMade: ShmemMade = new Map()): void {
  const fds = new Map<string, number>();
  try {
    for (const v of vmas) {
      if (v.backing === 'special') continue;
      const len = v.end - v.start;
      const p = protBits(v.prot) | (v.runs.length ? PROT.WRITE : 0);
      let got: number;
      const key = v.shmem ? `${v.shmem.dev ?? ''}:${v.shmem.ino}` : '';
      const made = v.shmem ? shmemMade.get(key) : undefined;
      if (v.shmem && made) {
        // The same shared object as a mapping made before (here or in another process): map that file again.
        scratch.reset();
        const obj = `/proc/${made.pid}/map_files/${made.start.toString(16)}-${made.end.toString(16)}`;
        const fd = t.call(`open ${obj}`, SYS.openat, AT_FDCWD, scratch.str(obj), O.RDWR | O.CLOEXEC, 0);
        try {
          got = t.call('mmap (shared memory)', SYS.mmap, v.start, len, p, MAP.SHARED | MAP.FIXED, fd, v.shmem.pgoff * 4096);
        } finally {
          t.syscall(SYS.close, fd);
        }
      } else if (v.deletedFile && v.shmem) {
        got = mapDeletedFile(t, scratch, v, p);
        shmemMade.set(key, { pid: t.pid, start: v.start, end: v.end });
      } else if (v.shmem && v.shared && v.backing === 'anon' && v.shmem.size !== undefined && (v.shmem.pgoff > 0 || v.shmem.size > len)) {
        // A piece of a larger shared object: make all of it, move this piece into place (mremap
        // keeps the object and the offset), let the rest go; other pieces map the object again.
        const whole = Math.ceil(v.shmem.size / 4096) * 4096;
        const tmp = t.call('mmap (whole shared object)', SYS.mmap, 0, whole, p, MAP.SHARED | MAP.ANONYMOUS, -1, 0);
        got = t.call('mremap (shared piece)', SYS.mremap, tmp + v.shmem.pgoff * 4096, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, v.start);
        if (v.shmem.pgoff > 0) t.call('munmap', SYS.munmap, tmp, v.shmem.pgoff * 4096);
        const after = tmp + v.shmem.pgoff * 4096 + len;
        if (after < tmp + whole) t.call('munmap', SYS.munmap, after, tmp + whole - after);
        shmemMade.set(key, { pid: t.pid, start: v.start, end: v.end });
      } else if (v.backing === 'file' && v.file) {
        // A shared mapping that may become writable needs the file open for writing, as it was.
        const mode = v.shared && (v.prot[1] === 'w' || v.mayWrite) ? O.RDWR : O.RDONLY;
        const key = `${mode}:${v.file.path}`;
        let fd = fds.get(key);
        if (fd === undefined) {
          scratch.reset();
          fd = t.call(`open ${v.file.path}`, SYS.openat, AT_FDCWD, scratch.str(v.file.path), mode | O.CLOEXEC, 0);
          fds.set(key, fd);
        }
        got = t.call(`mmap ${v.file.path}`, SYS.mmap, v.start, len, p, (v.shared ? MAP.SHARED : MAP.PRIVATE) | MAP.FIXED, fd, v.file.offset);
      } else {
        const made = (v.advice ?? []).reduce((f, a) => f | (MAP_FLAGS[a] ?? 0), 0); // MAP_NORESERVE, MAP_DROPPABLE
        const type = made & MAP_FLAGS.dp ? 0 : v.shared ? MAP.SHARED : MAP.PRIVATE;
        const flags = type | made | MAP.ANONYMOUS | MAP.FIXED | (v.growsDown ? MAP.GROWSDOWN : 0);
        got = t.call('mmap', SYS.mmap, v.start, len, p, flags, -1, 0);
        if (v.shmem) shmemMade.set(key, { pid: t.pid, start: v.start, end: v.end });
      }
      if (got !== v.start) throw new Error(`mapping at 0x${v.start.toString(16)} landed at 0x${got.toString(16)}`);
    }
  } finally {
    for (const fd of fds.values()) t.syscall(SYS.close, fd);
  }
  readPages(t, scratch, vmas.flatMap((v) => v.runs), imageFd);
  for (const v of vmas) {
    const want = protBits(v.prot);
    if (v.backing !== 'special' && v.runs.length && !(want & PROT.WRITE)) t.call('mprotect', SYS.mprotect, v.start, v.end - v.start, want);
  }
  restoreAdvice(t, vmas);
}

/**
 * The first mapping of a deleted file that processes share: the file is made
 * again (at its path when free, else beside it), sized, mapped, and unlinked
 * at once; its pages come from the image like anonymous memory's.
 */
function mapDeletedFile(t: Tracee, scratch: Scratch, v: Vma, prot: number): number {
  const d = v.deletedFile!;
  const path = existsSync(d.path) ? `${d.path}.ckpt-ghost-${randomBytes(4).toString('hex')}` : d.path;
  scratch.reset();
  const fd = t.call(`create ${path}`, SYS.openat, AT_FDCWD, scratch.str(path), O.RDWR | O.CREAT | O.EXCL | O.CLOEXEC, 0o600);
  try {
    t.call('unlink', SYS.unlinkat, AT_FDCWD, scratch.str(path), 0);
    t.call('ftruncate', SYS.ftruncate, fd, d.size);
    t.call('fchown', SYS.fchown, fd, d.uid, d.gid);
    t.call('fchmod', SYS.fchmod, fd, d.mode);
    return t.call(`mmap ${d.path} (deleted)`, SYS.mmap, v.start, v.end - v.start, prot, MAP.SHARED | MAP.FIXED, fd, v.shmem!.pgoff * 4096);
  } finally {
    t.syscall(SYS.close, fd);
  }
}

const IOV_MAX = 1024;
const MREMAP_MAYMOVE = 1;
const MREMAP_FIXED = 2;

/** Page runs into place with as few preadv calls as the image layout allows. */
function readPages(t: Tracee, scratch: Scratch, runs: Vma['runs'], imageFd: number): void {
  const sorted = [...runs].sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < sorted.length; ) {
    // A batch: runs contiguous in the file, at most IOV_MAX of them and MAX_RW bytes.
    const first = sorted[i];
    let j = i;
    let bytes = 0;
    while (j < sorted.length && j - i < IOV_MAX && sorted[j].offset === first.offset + bytes && bytes + (sorted[j].end - sorted[j].start) <= MAX_RW) {
      bytes += sorted[j].end - sorted[j].start;
      j++;
    }
    if (j === i) {
      // A single run larger than one read: in pieces.
      for (let done = 0; done < first.end - first.start; ) {
        const n = Math.min(MAX_RW, first.end - first.start - done);
        const k = t.call('pread64 (page data)', SYS.pread64, imageFd, first.start + done, n, first.offset + done);
        if (k <= 0) throw new CkptError('IMAGE_CORRUPT', `short read of page data at offset ${first.offset + done}`);
        done += k;
      }
      i++;
      continue;
    }
    scratch.reset();
    const iov = Buffer.alloc((j - i) * 16);
    for (let k = i; k < j; k++) {
      const r = sorted[k];
      // Fault big runs in at once: cheaper than a fault per page inside the read.
      if (r.end - r.start >= POPULATE_MIN) t.syscall(SYS.madvise, r.start, r.end - r.start, MADV_POPULATE_WRITE);
      iov.writeBigUInt64LE(BigInt(r.start), (k - i) * 16);
      iov.writeBigUInt64LE(BigInt(r.end - r.start), (k - i) * 16 + 8);
    }
    const got = t.call('preadv (page data)', SYS.preadv, imageFd, scratch.put(iov), j - i, first.offset, 0);
    if (got !== bytes) throw new CkptError('IMAGE_CORRUPT', `short read of page data at offset ${first.offset} (${got} of ${bytes} bytes)`);
    i = j;
  }
}

/** Lowest address of the kernel's special mappings ([vvar] comes first), for ARCH_MAP_VDSO_64. */
export function vdsoBase(vmas: Vma[]): { base: number; vdso: number } | undefined {
  const sp = vmas.filter((v) => v.backing === 'special');
  const vdso = sp.find((v) => v.name === '[vdso]');
  if (!vdso) return undefined;
  return { base: Math.min(...sp.map((v) => v.start)), vdso: vdso.start };
}
