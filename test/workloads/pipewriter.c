/* A parent and its child both writing lines to an inherited descriptor FD
 * (the write end of a pipe someone else reads), SIGPIPE ignored so a write
 * with no reader left fails with EPIPE instead of killing the writer. Every
 * 20 ms the parent writes "parent K" to FD and prints "tick K ok" (or
 * "tick K EPIPE", "tick K error ..."), the child likewise "child K" and
 * "child K ok|EPIPE|error ...". When $STOP_FILE exists the child exits 0, the
 * parent reaps it and prints "done".   pipewriter FD */
#include "common.h"
#include <sys/wait.h>

static void loop(int fd, const char *who) {
  char line[64];
  for (long k = 0; !stop_requested(); k++) {
    int n = snprintf(line, sizeof line, "%s %ld\n", who, k);
    ssize_t w = write(fd, line, (size_t)n);
    const char *res = w == n ? "ok" : w >= 0 ? "short" : errno == EPIPE ? "EPIPE" : strerror(errno);
    say("%s %ld %s\n", strcmp(who, "parent") == 0 ? "tick" : who, k, res);
    nap_ms(tick_ms());
  }
}

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: pipewriter FD");
  int fd = atoi(argv[1]);
  if (fcntl(fd, F_GETFD) < 0) fail("fd %d is not open", fd);
  signal(SIGPIPE, SIG_IGN);
  pid_t kid = fork();
  if (kid < 0) fail("fork: %s", strerror(errno));
  if (kid == 0) {
    loop(fd, "child");
    _exit(0);
  }
  say("child %d\n", kid);
  loop(fd, "parent");
  int st;
  if (waitpid(kid, &st, 0) != kid) fail("waitpid: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail("child ended with status 0x%x", st);
  say("done\n");
  return 0;
}
