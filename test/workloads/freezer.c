/* A checkpoint-aware program, DragonFly style: its SIGCKPT handler only
 * notes the request; the main loop prepares and calls ckpt_freeze(). It
 * prints what ckpt_freeze() returned: 0 in the original, 1 once restored. */
#include "common.h"
#include "ckpt.h"

static volatile sig_atomic_t requested;
static void on_sigckpt(int sig) { (void)sig; requested = 1; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_sigckpt;
  sigaction(ckpt_sigckpt(), &sa, NULL);
  for (int tick = 0; !stop_requested(); tick++) {
    if (requested) {
      requested = 0;
      say("preparing\n");
      int r = ckpt_freeze();
      say("freeze %d errno %d\n", r, r < 0 ? errno : 0);
    }
    say("tick %d\n", tick);
    struct timespec d = {0, 50 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  say("done\n");
  return 0;
}
