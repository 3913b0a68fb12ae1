// What every kind of file descriptor provides. A kind lives in one file with
// its dump and restore side by side; kinds/index.ts is the one registry.
import type { Stats } from 'node:fs';
import type * as v from 'valibot';
import type { FdInfo } from '../proc/fdinfo.js';
import type { Tracee } from '../tracee/tracee.js';
import type { Scratch } from '../tracee/scratch.js';
import type { ImageWriter } from '../image/writer.js';
import type { ImageReader } from '../image/reader.js';

/** What /proc tells about one fd of the target. */
export interface FdFacts {
  pid: number;
  fd: number;
  /** readlink of /proc/PID/fd/N ("/path", "pipe:[123]", "socket:[9]", "anon_inode:[eventfd]"...). */
  link: string;
  /** stat through the fd (the object itself). */
  stat: Stats;
  info: FdInfo;
  /** Every fd of the process (for kinds whose object spans several fds, like a pipe's two ends). */
  peers: FdFacts[];
  /** Every fd of every process of the tree being checkpointed (peers included). */
  tree: FdFacts[];
}

export interface DumpContext {
  pid: number;
  writer: ImageWriter;
  /** Established TCP connections are saved as closed instead of refusing the dump. */
  tcpClose: boolean;
  /** Things the user should know (a connection to outside the tree that will not survive). */
  notices: string[];
  /** Objects already saved by another fd of the tree (a pipe's data is saved once), by a kind's key. */
  saved: Set<string>;
}

export interface RestoreContext {
  tracee: Tracee;
  scratch: Scratch;
  image: ImageReader;
  /** Things the user should know (a log that grew, a file reopened elsewhere). */
  notices: string[];
  /** Undo steps run if the restore fails (remove a ghost file...). */
  onFailure: Array<() => void>;
  /** Steps run once the restored process runs (release a FIFO ckpt held open...). */
  onSuccess: Array<() => void>;
  /** Steps run once every fd of every process is in place (shut a socket down after its data is back). */
  afterFiles: Array<() => void>;
  /** ckpt's own stdin/stdout/stderr as fds in the target, for inherited stdio. */
  inheritedFd: (stdio: number) => number;
  /**
   * Objects with several fds (a pipe's two ends): the first fd restored creates
   * the object and leaves the others here, by a key of the kind's choosing.
   */
  shared: Map<string, number[]>;
  /** Move a target fd out of the way of every fd number being restored; returns its new number. */
  park(fd: number): number;
  /**
   * Objects shared between processes of the tree (a pipe whose ends two
   * processes hold): ckpt's own fds on them, by a kind's key. The first
   * holder restored creates the object and puts it here; later holders get
   * their copy from ckpt with give(). ckpt closes them all at the end.
   */
  objects: Map<string, number[]>;
  /** A copy of a target fd in ckpt (added to what ckpt closes at the end). */
  take(targetFd: number): number;
  /** A copy of one of ckpt's fds in the target (same open file description); returns its number there. */
  give(localFd: number): number;
  /** A copy of fd `fd` of process `pid` (restored earlier) in the target. */
  grab(pid: number, fd: number): number;
}

export interface FdKind<S = unknown> {
  /** Stable tag stored in images. */
  readonly tag: string;
  readonly schema: v.GenericSchema<unknown, S>;
  /** Does this kind handle the fd? Pure: looks at the facts only. */
  detect(f: FdFacts): boolean;
  /** Capture the state; never changes the target. Throws KIND_UNSUPPORTED for variants it cannot handle. */
  dump(f: FdFacts, ctx: DumpContext): S;
  /** Before anything is built: is the state restorable here? Throws a CkptError naming the problem. */
  check?(s: S, fd: number, ctx: Pick<RestoreContext, 'notices' | 'image'>): void;
  /** Open the object in the target; returns the fd it got there (any number). */
  restore(s: S, ctx: RestoreContext, fd: number): number;
  /** Restored after every other fd (an epoll set refers to other fds by number). */
  readonly late?: boolean;
  /** One line for `ckpt info`. */
  describe(s: S): string;
}

/** A kind the registry knows but cannot checkpoint yet: dump refuses with its reason. */
export interface Unsupported {
  detect(f: FdFacts): string | undefined;
}
