/* An interval timer: setitimer(ITIMER_REAL) every TICK_MS ms, a SIGALRM
 * handler counting, the main loop in pause() printing each tick once. */
#include "common.h"
#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  int ms = tick_ms();
  struct itimerval it = { { ms / 1000, (ms % 1000) * 1000 }, { ms / 1000, (ms % 1000) * 1000 } };
  if (setitimer(ITIMER_REAL, &it, NULL) != 0) fail("setitimer: %s", strerror(errno));
  say("timer every %d ms\n", ms);
  long shown = 0;
  while (!stop_requested()) {
    pause();
    while (shown < alarms) say("tick %ld\n", shown++);
  }
  struct itimerval cur;
  getitimer(ITIMER_REAL, &cur);
  if (cur.it_interval.tv_sec * 1000 + cur.it_interval.tv_usec / 1000 != ms) fail("interval is now %ld.%06ld", (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec);
  say("timer still every %d ms after %ld ticks\n", ms, shown);
  say("done\n");
  return 0;
}
