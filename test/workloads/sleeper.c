/* A process blocked in a long sleep. usage: sleeper MODE SECONDS
 * MODE: libc  - sleep(3) (a relative clock_nanosleep, returns the time left)
 *       raw   - the nanosleep system call with a rem pointer
 *       abs   - clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)
 * Prints "before N at T0" and "after N slept S left L woke T1" (T0, T1:
 * CLOCK_MONOTONIC); the sleep must neither end early nor report time left.
 * Stops after a sleep once $STOP_FILE exists. */
#include "common.h"

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: sleeper MODE SECONDS");
  const char *mode = argv[1];
  int secs = atoi(argv[2]);
  for (long i = 0;; i++) {
    double t0 = now_mono();
    say("before %ld at %.6f\n", i, t0);
    double left = 0;
    if (strcmp(mode, "libc") == 0) {
      left = sleep((unsigned)secs);
    } else if (strcmp(mode, "raw") == 0) {
      /* rem is only meaningful on EINTR (Linux also fills it in when the
       * sleep is interrupted and transparently restarted). */
      struct timespec req = { secs, 0 }, rem = { 0, 0 };
      long r = syscall(SYS_nanosleep, &req, &rem);
      if (r != 0) fail("nanosleep: %s (%.3f s left)", strerror(errno), rem.tv_sec + rem.tv_nsec / 1e9);
    } else if (strcmp(mode, "abs") == 0) {
      struct timespec until;
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_sec += secs;
      int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
      if (r != 0) fail("clock_nanosleep: %s", strerror(r));
    } else {
      fail("unknown mode %s", mode);
    }
    double t1 = now_mono();
    double slept = t1 - t0;
    say("after %ld slept %.3f left %.3f woke %.6f\n", i, slept, left, t1);
    if (slept < secs - 0.002) fail("woke up early: %.3f s of %d", slept, secs);
    if (left != 0) fail("sleep reports %.3f s left", left);
    if (stop_requested()) break;
  }
  say("done\n");
  return 0;
}
