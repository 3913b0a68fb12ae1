/* A parent with zombie children: it forks one child per exit code given
 * (a negative number -S means: killed by signal S), prints "child PID CODE"
 * for each, and ticks ("tick N" every 20 ms) without reaping them until the
 * file GO exists. Then it reaps each with waitpid() and prints
 * "reaped PID exit CODE" or "reaped PID signal S", checks each is what that
 * child was meant to end with, and prints "done".
 *   zombies GO CODE...        e.g. zombies /tmp/go 3 0 -15 42 */
#include "common.h"
#include <sys/wait.h>

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: zombies GO CODE...");
  int n = argc - 2;
  pid_t kids[64];
  int codes[64];
  if (n > 64) fail("too many children");
  for (int i = 0; i < n; i++) {
    codes[i] = atoi(argv[i + 2]);
    kids[i] = fork();
    if (kids[i] < 0) fail("fork: %s", strerror(errno));
    if (kids[i] == 0) {
      if (codes[i] < 0) {
        signal(-codes[i], SIG_DFL);
        raise(-codes[i]);
        pause();
      }
      _exit(codes[i]);
    }
    say("child %d %d\n", kids[i], codes[i]);
  }
  for (long i = 0; access(argv[1], F_OK) != 0; i++) {
    say("tick %ld\n", i);
    nap_ms(tick_ms());
  }
  int bad = 0;
  for (int i = 0; i < n; i++) {
    int st;
    pid_t r = waitpid(kids[i], &st, 0);
    if (r != kids[i]) fail("waitpid %d: %s", kids[i], strerror(errno));
    if (WIFEXITED(st)) {
      say("reaped %d exit %d\n", r, WEXITSTATUS(st));
      if (codes[i] < 0 || WEXITSTATUS(st) != codes[i]) bad++;
    } else if (WIFSIGNALED(st)) {
      say("reaped %d signal %d\n", r, WTERMSIG(st));
      if (codes[i] >= 0 || WTERMSIG(st) != -codes[i]) bad++;
    } else {
      say("reaped %d status 0x%x\n", r, st);
      bad++;
    }
  }
  if (bad) fail("%d children ended otherwise than they were meant to", bad);
  if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) fail("a child is left over");
  say("done\n");
  return 0;
}
