// Memory character devices (/dev/null, /dev/zero, /dev/full, /dev/random,
// /dev/urandom): stateless, reopened by path.
import * as v from 'valibot';
import { openInTarget, accessMode } from './open-file.js';
import type { FdKind } from './types.js';

const MEM_MAJOR = 1;
const NAMES: Record<number, string> = { 3: '/dev/null', 5: '/dev/zero', 7: '/dev/full', 8: '/dev/random', 9: '/dev/urandom' };
const major = (rdev: number) => Math.floor(rdev / 256) & 0xfff;
const minor = (rdev: number) => (rdev & 0xff) | ((rdev >> 12) & 0xfff00);

const State = v.object({ path: v.string(), flags: v.pipe(v.number(), v.integer()) });
type State = v.InferOutput<typeof State>;

export const charDevice: FdKind<State> = {
  tag: 'chardev',
  schema: State,
  detect: (f) => f.stat.isCharacterDevice() && major(f.stat.rdev) === MEM_MAJOR && minor(f.stat.rdev) in NAMES,
  dump: (f) => ({ path: NAMES[minor(f.stat.rdev)], flags: f.info.flags }),
  restore: (s, ctx) => openInTarget(ctx, s.path, s.flags),
  describe: (s) => `${s.path} (${accessMode(s.flags)})`,
};

/**
 * A terminal the program uses (a pty slave, a virtual console, /dev/tty,
 * /dev/console). Not /dev/ptmx: a pty master is the other side of a terminal,
 * and handing the program ckpt restore's terminal in its place would be wrong.
 */
export const isTerminal = (rdev: number) => {
  const ma = major(rdev);
  return ma === 136 || ma === 4 || (ma === 5 && minor(rdev) <= 1);
};

/** /dev/ptmx: the master side of a pseudo-terminal. */
export const isPtyMaster = (rdev: number) => major(rdev) === 5 && minor(rdev) === 2;
