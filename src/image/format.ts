// The image's metadata: what ckpt's own "CKPT" note holds, as a schema that
// every reader validates before acting on it. Bump FORMAT.minor for additive
// changes (older readers ignore unknown fields), FORMAT.major for breaking ones.
import { z } from 'zod';

// Each schema is used a few times per command: skip zod's eval-compiled fast path, which costs more to build than it saves.
z.config({ jitless: true });

export const FORMAT = { major: 1, minor: 1 } as const;
export const NOTE_OWNER = 'CKPT';
export const NOTE_META = 0x434b0001;
export const NOTE_SEAL = 0x434b0002;
export const SEAL_MAGIC = 'CKPTSEAL';
export const SEAL_SIZE = 32;

const int = z.number().int();
const uint = int.nonnegative();
const hex64 = z.string().regex(/^[0-9a-f]{1,16}$/);
const b64 = z.string();

/** A file the restore must find unchanged (or changed only in allowed ways). */
export const FileIdentity = z.object({
  path: z.string(),
  dev: uint,
  ino: uint,
  size: uint,
  mtimeNs: z.string(),
  mode: uint,
});
export type FileIdentity = z.infer<typeof FileIdentity>;

/** Bytes stored in the image at `offset` (page data or a blob). */
/** CRC-32 of the bytes, 8 hex digits (see hash.ts). */
const hash = z.string().regex(/^[0-9a-f]{8}$/);
export const DataRef = z.object({ offset: uint, size: uint, hash });
export type DataRef = z.infer<typeof DataRef>;

export const PageRun = z.object({ start: uint, end: uint, offset: uint, hash });
export type PageRun = z.infer<typeof PageRun>;

export const Vma = z.object({
  start: uint,
  end: uint,
  prot: z.string().regex(/^[r-][w-][x-]$/),
  shared: z.boolean(),
  /** anon: private/shared anonymous; file: mapped file; special: [vdso] etc. */
  backing: z.enum(['anon', 'file', 'special']),
  /** [heap], [stack], [vdso]..., a path, or ''. */
  name: z.string(),
  file: FileIdentity.extend({ offset: uint }).optional(),
  growsDown: z.boolean().default(false),
  runs: z.array(PageRun),
});
export type Vma = z.infer<typeof Vma>;

export const SigAction = z.object({ sig: int.min(1).max(64), handler: hex64, flags: hex64, restorer: hex64, mask: hex64 });
export type SigAction = z.infer<typeof SigAction>;

export const Thread = z.object({
  tid: uint,
  name: z.string(),
  regs: b64,
  xstate: b64,
  sigmask: hex64,
  pending: z.array(b64),
  rseq: z.object({ address: uint, length: uint, signature: uint }).nullable(),
  robustList: z.object({ head: uint, len: uint }),
  clearChildTid: uint,
  altstack: z.object({ sp: uint, flags: int, size: uint }),
  /** Remaining time of a relative sleep the thread was in, when known. */
  sleepRemainingNs: z.string().nullable().default(null),
});
export type Thread = z.infer<typeof Thread>;

export const ItimerState = z.object({ which: int, intervalUs: z.string(), valueUs: z.string() });
export const PosixTimer = z.object({
  /** sigev_notify as the kernel keeps it: SIGEV_SIGNAL 0, SIGEV_NONE 1, | SIGEV_THREAD_ID 4. */
  id: uint, clockId: int, signal: int, value: hex64, notify: int, notifyTid: uint,
  intervalNs: z.string(), valueNs: z.string(), overrun: int.default(0),
});
export type PosixTimer = z.infer<typeof PosixTimer>;

export const FdRecord = z.object({
  fd: uint,
  kind: z.string(),
  cloexec: z.boolean(),
  /** Kind-specific state, validated by the kind's own schema. */
  state: z.unknown(),
});
export type FdRecord = z.infer<typeof FdRecord>;

export const Meta = z.object({
  format: z.object({ major: uint, minor: uint }),
  tool: z.object({ name: z.literal('ckpt'), version: z.string() }),
  createdAt: z.string(),
  host: z.object({ hostname: z.string(), kernel: z.string(), arch: z.string() }),
  dump: z.object({ frozenMs: z.number(), leftRunning: z.boolean() }),
  process: z.object({
    pid: uint,
    ppid: uint,
    comm: z.string(),
    cmdline: z.array(z.string()),
    exe: FileIdentity.nullable(),
    cwd: z.string(),
    umask: uint,
    uid: z.array(uint).length(4),
    gid: z.array(uint).length(4),
    groups: z.array(uint),
    personality: uint,
    rlimits: z.array(z.tuple([z.string(), z.string()])),
    mm: z.object({
      startCode: uint, endCode: uint, startData: uint, endData: uint, startBrk: uint, brk: uint,
      startStack: uint, argStart: uint, argEnd: uint, envStart: uint, envEnd: uint,
    }),
    auxv: b64,
  }),
  threads: z.array(Thread).min(1),
  signals: z.object({ actions: z.array(SigAction), sharedPending: z.array(b64) }),
  timers: z.object({ itimers: z.array(ItimerState), posix: z.array(PosixTimer) }),
  vmas: z.array(Vma),
  files: z.array(FdRecord),
  /** Extra data areas (file contents, pipe data) referenced by fd records. */
  blobs: z.array(DataRef),
  /** Taken by freeze(): the file where restore says "restored" (format 1.1). */
  freeze: z.object({ marker: z.string() }).nullable().default(null),
});
export type Meta = z.infer<typeof Meta>;
