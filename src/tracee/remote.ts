// A thread held by ckpt together with a scratch area inside it: what the
// kinds use to run syscalls in the target.
import type { Tracee } from './tracee.js';
import type { Scratch } from './scratch.js';

export interface Remote {
  t: Tracee;
  s: Scratch;
}
