/* Unix sockets of every restorable shape: a stream pair and a datagram pair
 * with data in flight, listeners on a path and on an abstract name. Used
 * only after the checkpoint. */
#include "common.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv) {
  if (argc < 2) fail("usage: unixsock DIR");
  int sp[2], dp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dp)) fail("socketpair");
  write_all(sp[0], "stream-data", 11);
  send(dp[1], "m1", 2, 0);
  send(dp[1], "message2", 8, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX}, b = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s/listen.sock", argv[1]);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(l, (void *)&a, sizeof a) || listen(l, 5)) fail("bind %s: %s", a.sun_path, strerror(errno));
  int abstract_len = snprintf(b.sun_path + 1, sizeof b.sun_path - 1, "ckpt-test-%d", getpid());
  socklen_t blen = offsetof(struct sockaddr_un, sun_path) + 1 + abstract_len;
  int la = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(la, (void *)&b, blen) || listen(la, 5)) fail("bind abstract");
  for (int tick = 0; !stop_requested(); tick++) {
    say("tick %d\n", tick);
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  char buf[64] = {0};
  if (read(sp[1], buf, 63) != 11 || strcmp(buf, "stream-data")) fail("stream pair: '%s'", buf);
  memset(buf, 0, sizeof buf);
  if (recv(dp[0], buf, 63, 0) != 2 || strcmp(buf, "m1")) fail("datagram 1: '%s'", buf);
  memset(buf, 0, sizeof buf);
  if (recv(dp[0], buf, 63, 0) != 8 || strcmp(buf, "message2")) fail("datagram 2: '%s'", buf);
  write_all(sp[1], "back", 4);
  memset(buf, 0, sizeof buf);
  if (read(sp[0], buf, 63) != 4) fail("stream pair, other way");
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(c, (void *)&a, sizeof a)) fail("connect to the path listener: %s", strerror(errno));
  int s = accept(l, NULL, NULL);
  write_all(c, "hi", 2);
  memset(buf, 0, sizeof buf);
  if (s < 0 || read(s, buf, 63) != 2) fail("accepted connection");
  int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(c2, (void *)&b, blen)) fail("connect to the abstract listener: %s", strerror(errno));
  say("done\n");
  return 0;
}
