/* A counter: "tick N" every TICK_MS ms, until $STOP_FILE exists; then "done".
 * With --socket it also holds a netlink socket open (which ckpt cannot save). */
#include "common.h"
#include <sys/socket.h>

static void __attribute__((noinline)) tick_forever_workload(void) {
  int ms = tick_ms();
  for (long i = 0; !stop_requested(); i++) {
    say("tick %ld\n", i);
    nap_ms(ms);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--socket") == 0) {
    int s = socket(AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */);
    if (s < 0) fail("socket: %s", strerror(errno));
    say("socket fd %d\n", s);
  }
  tick_forever_workload();
  say("done\n");
  return 0;
}
