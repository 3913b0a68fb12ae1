// ckpt's checkpoint signals, DragonFly's SIGCKPT on Linux: two real-time
// signals chosen from the top of the range, where programs rarely look.
//   SIGCKPT     (SIGRTMAX-1, 63): checkpoint and go on running
//   SIGCKPTEXIT (SIGRTMAX,   64): checkpoint, then end once the image is safe
// Under `ckpt run`, a program with no handler for them is checkpointed; a
// program with a handler gets the signal, as on DragonFly.
export const SIGCKPT = 63;
export const SIGCKPTEXIT = 64;

/**
 * freeze() and ckpt talk through a small file (see include/ckpt.h): the
 * program creates it ("request" when supervised), ckpt writes
 * "checkpointed" once the image is safe (or "error: ..."), and a restore of
 * that image writes "restored" before the program runs again.
 * A program supervised by ckpt (`ckpt run`, or a foreground `ckpt
 * restore`: its tracer) leaves requests in the supervisor's directory, which
 * it watches. (`ckpt run` also sets CKPT_SUPERVISED=<its PID> for programs.)
 */
export function requestDir(supervisorPid: number): string {
  return `/tmp/ckpt-run.${supervisorPid}`;
}
