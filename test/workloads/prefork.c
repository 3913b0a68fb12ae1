/* A pre-fork TCP server: the parent listens on 127.0.0.1 (a free port),
 * prints "port P", forks N children (default 3) and prints "child PID" for
 * each. Every child accept()s on the shared listening socket and answers each
 * connection with one line "pid PID n K" (K its own count: 1, 2, 3...), then
 * closes it. The parent prints "tick N" every 20 ms; when $STOP_FILE exists
 * it ends the children (SIGTERM), reaps them, checks each was ended by that
 * signal and prints "done".   prefork [N] */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

static void serve(int lsock) {
  long n = 0;
  char line[128];
  for (;;) {
    int c = accept(lsock, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fail("child %d: accept: %s", getpid(), strerror(errno));
    }
    n++;
    int k = snprintf(line, sizeof line, "pid %d n %ld\n", getpid(), n);
    (void)!send(c, line, (size_t)k, MSG_NOSIGNAL); /* a client that went away is not our failure */
    close(c);
  }
}

int main(int argc, char **argv) {
  int nchild = argc > 1 ? atoi(argv[1]) : 3;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) fail("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) fail("bind: %s", strerror(errno));
  if (listen(s, 64) != 0) fail("listen: %s", strerror(errno));
  socklen_t len = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &len);
  pid_t kids[64];
  if (nchild < 1 || nchild > 64) fail("bad child count %d", nchild);
  for (int i = 0; i < nchild; i++) {
    kids[i] = fork();
    if (kids[i] < 0) fail("fork: %s", strerror(errno));
    if (kids[i] == 0) serve(s);
  }
  for (int i = 0; i < nchild; i++) say("child %d\n", kids[i]);
  say("port %d\n", ntohs(a.sin_port));
  for (long i = 0; !stop_requested(); i++) {
    say("tick %ld\n", i);
    nap_ms(tick_ms());
  }
  for (int i = 0; i < nchild; i++) kill(kids[i], SIGTERM);
  for (int i = 0; i < nchild; i++) {
    int st;
    if (waitpid(kids[i], &st, 0) != kids[i]) fail("waitpid %d: %s", kids[i], strerror(errno));
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) fail("child %d ended with status 0x%x", kids[i], st);
  }
  say("done\n");
  return 0;
}
