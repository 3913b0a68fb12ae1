/* One open file description shared by a parent and its child: the parent
 * opens FILE (O_WRONLY|O_CREAT|O_TRUNC, no O_APPEND) and forks; both write
 * numbered lines through it ("parent NNNNNN", "child  NNNNNN", 14 bytes),
 * every 3 ms. With one shared offset, no line overwrites another. The parent
 * prints "tick N" every 20 ms on stdout; when $STOP_FILE exists the child
 * prints "child wrote N" and exits 0, the parent reaps it and prints
 * "parent wrote M" and "done".   sharedfile FILE */
#include "common.h"
#include <sys/wait.h>

static long writer(int fd, const char *who) {
  char line[32];
  long n = 0;
  double next_tick = now_mono();
  long ticks = 0;
  while (!stop_requested()) {
    int k = snprintf(line, sizeof line, "%-6s %06ld\n", who, n);
    write_all(fd, line, (size_t)k);
    n++;
    if (strcmp(who, "parent") == 0 && now_mono() >= next_tick) {
      say("tick %ld\n", ticks++);
      next_tick += tick_ms() / 1000.0;
    }
    nap_ms(3);
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: sharedfile FILE");
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("open %s: %s", argv[1], strerror(errno));
  pid_t kid = fork();
  if (kid < 0) fail("fork: %s", strerror(errno));
  if (kid == 0) {
    long n = writer(fd, "child");
    say("child wrote %ld\n", n);
    _exit(0);
  }
  say("child %d\n", kid);
  long n = writer(fd, "parent");
  int st;
  if (waitpid(kid, &st, 0) != kid) fail("waitpid: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail("child ended with status 0x%x", st);
  say("parent wrote %ld\n", n);
  say("done\n");
  return 0;
}
