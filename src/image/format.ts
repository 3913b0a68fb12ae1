// The image's metadata: what ckpt's own "CKPT" note holds, as a schema that
// every reader validates before acting on it. Bump FORMAT.minor for additive
// changes (older readers ignore unknown fields), FORMAT.major for breaking ones.
// 2.0 holds a process tree: the top-level fields are the root process, and
// `members` the other processes (an older reader would restore only the root,
// silently, so the major changed).
import * as v from 'valibot';


export const FORMAT = { major: 2, minor: 0 } as const;
/** Majors this reader still reads (1.x: one process, no tree). */
export const READABLE_MAJORS: readonly number[] = [1, 2];
export const NOTE_OWNER = 'CKPT';
export const NOTE_META = 0x434b0001;
export const NOTE_SEAL = 0x434b0002;
export const SEAL_MAGIC = 'CKPTSEAL';
export const SEAL_SIZE = 32;

const int = v.pipe(v.number(), v.integer());
const uint = v.pipe(v.number(), v.integer(), v.minValue(0));
const hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{1,16}$/));
const b64 = v.string();

/** A file the restore must find unchanged (or changed only in allowed ways). */
export const FileIdentity = v.object({
  path: v.string(),
  dev: uint,
  ino: uint,
  size: uint,
  mtimeNs: v.string(),
  mode: uint,
});
export type FileIdentity = v.InferOutput<typeof FileIdentity>;

/** Bytes stored in the image at `offset` (page data or a blob). */
/** CRC-32 of the bytes, 8 hex digits (see hash.ts). */
const hash = v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/));
export const DataRef = v.object({ offset: uint, size: uint, hash });
export type DataRef = v.InferOutput<typeof DataRef>;

/**
 * A run of saved pages. Its hash is '-' when its data lies inside another
 * run's data (pages a child still shared with its parent since fork): that
 * run's checksum covers the bytes, and the reader checks it does.
 */
export const COVERED = '-';
export const PageRun = v.object({ start: uint, end: uint, offset: uint, hash: v.union([hash, v.literal(COVERED)]) });
export type PageRun = v.InferOutput<typeof PageRun>;

export const Vma = v.object({
  start: uint,
  end: uint,
  prot: v.pipe(v.string(), v.regex(/^[r-][w-][x-]$/)),
  shared: v.boolean(),
  /** anon: private/shared anonymous; file: mapped file; special: [vdso] etc. */
  backing: v.picklist(['anon', 'file', 'special']),
  /** [heap], [stack], [vdso]..., a path, or ''. */
  name: v.string(),
  file: v.optional(v.object({ ...FileIdentity.entries, offset: uint })),
  growsDown: v.optional(v.boolean(), false),
  /**
   * Shared anonymous memory (format 2.0): its shmem object and page offset.
   * The first process of the tree mapping it holds the pages; the others map
   * the same object again and save no pages of their own.
   */
  shmem: v.optional(v.object({ ino: uint, pgoff: uint, dev: v.optional(v.string()), size: v.optional(uint) })),
  /**
   * A shared mapping of a deleted file (2.0; POSIX semaphores and shm_open
   * memory unlinked at once): the file, recreated by the first process that
   * maps it and unlinked again; its pages are the mapping's runs.
   */
  deletedFile: v.optional(v.object({ path: v.string(), size: uint, mode: uint, uid: uint, gid: uint })),
  /** A read-only shared file mapping that mprotect may make writable (2.0: VmFlags mw). */
  mayWrite: v.optional(v.boolean()),
  /** VmFlags set by madvise/mlock (2.0): rr sr dc mg hg nh dd wf lo, and nr dp of mmap (kinds/memory-advice.ts). */
  advice: v.optional(v.array(v.picklist(['rr', 'sr', 'dc', 'mg', 'hg', 'nh', 'dd', 'wf', 'lo', 'nr', 'dp']))),
  runs: v.array(PageRun),
});
export type Vma = v.InferOutput<typeof Vma>;

export const SigAction = v.object({ sig: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)), handler: hex64, flags: hex64, restorer: hex64, mask: hex64 });
export type SigAction = v.InferOutput<typeof SigAction>;

export const Thread = v.object({
  tid: uint,
  name: v.string(),
  regs: b64,
  xstate: b64,
  sigmask: hex64,
  pending: v.array(b64),
  rseq: v.nullable(v.object({ address: uint, length: uint, signature: uint })),
  robustList: v.object({ head: uint, len: uint }),
  clearChildTid: uint,
  altstack: v.object({ sp: uint, flags: int, size: uint }),
  /** Remaining time of a relative sleep the thread was in, when known. */
  sleepRemainingNs: v.optional(v.nullable(v.string()), null),
});
export type Thread = v.InferOutput<typeof Thread>;

export const ItimerState = v.object({ which: int, intervalUs: v.string(), valueUs: v.string() });
export const PosixTimer = v.object({
  /** sigev_notify as the kernel keeps it: SIGEV_SIGNAL 0, SIGEV_NONE 1, | SIGEV_THREAD_ID 4. */
  id: uint, clockId: int, signal: int, value: hex64, notify: int, notifyTid: uint,
  intervalNs: v.string(), valueNs: v.string(), overrun: v.optional(int, 0),
});
export type PosixTimer = v.InferOutput<typeof PosixTimer>;

/** A file lock held through an fd (2.0; kinds/file-locks.ts). */
export const Lock = v.object({
  kind: v.picklist(['flock', 'posix', 'ofd']),
  write: v.boolean(),
  start: v.string(),
  /** Last byte, or "EOF" for a lock to the end of the file (and beyond). */
  end: v.string(),
});
export type Lock = v.InferOutput<typeof Lock>;

/** Who gets an O_ASYNC fd's signals, and which signal (2.0; kinds/fd-owner.ts). */
export const FdOwner = v.object({ type: int, pid: int, sig: int });
export type FdOwner = v.InferOutput<typeof FdOwner>;

export const FdRecord = v.object({
  fd: uint,
  kind: v.string(),
  cloexec: v.boolean(),
  /** Kind-specific state, validated by the kind's own schema. */
  state: v.unknown(),
  /** File locks held through this fd (2.0; see kinds/file-locks.ts). */
  locks: v.optional(v.array(Lock), []),
  /** For an fd with O_ASYNC: its owner and signal (2.0). */
  owner: v.optional(FdOwner),
});
export type FdRecord = v.InferOutput<typeof FdRecord>;

export const ProcessState = v.object({
  pid: uint,
  ppid: uint,
  comm: v.string(),
  cmdline: v.array(v.string()),
  exe: v.nullable(FileIdentity),
  cwd: v.string(),
  umask: uint,
  uid: v.pipe(v.array(uint), v.length(4)),
  gid: v.pipe(v.array(uint), v.length(4)),
  groups: v.array(uint),
  personality: uint,
  rlimits: v.array(v.tuple([v.string(), v.string()])),
  mm: v.object({
    startCode: uint, endCode: uint, startData: uint, endData: uint, startBrk: uint, brk: uint,
    startStack: uint, argStart: uint, argEnd: uint, envStart: uint, envEnd: uint,
  }),
  auxv: b64,
  /** Process group and session (format 2.0; absent in 1.x images). */
  pgid: v.optional(uint),
  sid: v.optional(uint),
  /** Stopped by a signal (group stop) when checkpointed. */
  stopped: v.optional(v.boolean(), false),
  /** The foreground process group of its controlling terminal (2.0; -1: none). */
  tpgid: v.optional(int),
  /** prctl state (2.0): the parent-death signal (0: none), and whether it is a child subreaper. */
  pdeathSig: v.optional(uint, 0),
  childSubreaper: v.optional(v.boolean(), false),
  /** Capability sets, hex (2.0; absent: root's full sets, as 1.x restored them). */
  caps: v.optional(v.object({ inh: hex64, prm: hex64, eff: hex64, bnd: hex64, amb: hex64 })),
  /** prctl(PR_SET_NO_NEW_PRIVS) (2.0). */
  noNewPrivs: v.optional(v.boolean(), false),
  /** prctl(PR_SET_THP_DISABLE) (2.0). */
  thpDisable: v.optional(v.boolean(), false),
  /** Shares its fd table with its parent (clone with CLONE_FILES; 2.0). */
  filesOfParent: v.optional(v.boolean(), false),
});
export type ProcessState = v.InferOutput<typeof ProcessState>;

/** Everything of one live process. */
const processEntries = {
  process: ProcessState,
  threads: v.pipe(v.array(Thread), v.minLength(1)),
  signals: v.object({ actions: v.array(SigAction), sharedPending: v.array(b64) }),
  timers: v.object({ itimers: v.array(ItimerState), posix: v.array(PosixTimer) }),
  vmas: v.array(Vma),
  files: v.array(FdRecord),
  /** What /proc showed of the process, compared after restore (2.0; kinds/fingerprint.ts). */
  fingerprint: v.optional(v.record(v.string(), v.string())),
};
export const ProcessImage = v.object(processEntries);
export type ProcessImage = v.InferOutput<typeof ProcessImage>;

/** A child that has exited and not been reaped: only its identity and wait status. */
export const Zombie = v.object({
  pid: uint, ppid: uint, pgid: uint, sid: uint, comm: v.string(),
  /** How it ended: exit code, or the signal that killed it. */
  exitCode: v.nullable(uint),
  signal: v.nullable(uint),
});
export type Zombie = v.InferOutput<typeof Zombie>;

export const Meta = v.object({
  format: v.object({ major: uint, minor: uint }),
  tool: v.object({ name: v.literal('ckpt'), version: v.string() }),
  createdAt: v.string(),
  host: v.object({ hostname: v.string(), kernel: v.string(), arch: v.string() }),
  dump: v.object({ frozenMs: v.number(), leftRunning: v.boolean() }),
  // The root process of the tree.
  ...processEntries,
  /** The root's descendants, parents before children (format 2.0). */
  members: v.optional(v.array(ProcessImage), []),
  /** Descendants that had exited and were not reaped yet (format 2.0). */
  zombies: v.optional(v.array(Zombie), []),
  /** Extra data areas (file contents, pipe data) referenced by fd records. */
  blobs: v.array(DataRef),
  /** Taken by freeze(): the file where restore says "restored" (format 1.1). */
  freeze: v.optional(v.nullable(v.object({ marker: v.string() })), null),
});
export type Meta = v.InferOutput<typeof Meta>;

/** Every live process of the image, the root first, parents before children. */
export function processesOf(meta: Meta): ProcessImage[] {
  const { process, threads, signals, timers, vmas, files } = meta;
  return [{ process, threads, signals, timers, vmas, files }, ...meta.members];
}
