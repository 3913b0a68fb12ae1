/* launch PROGRAM ARGS...: exec PROGRAM with only stdin, stdout and stderr
 * open. A test runner may have inherited other descriptors without
 * close-on-exec, and ckpt (rightly) refuses to checkpoint what it cannot
 * restore, so workloads must not inherit them. The PID stays the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: launch PROGRAM ARGS...\n");
    return 127;
  }
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
    for (int fd = 3; fd < 65536; fd++) close(fd);
  execvp(argv[1], argv + 1);
  fprintf(stderr, "launch: %s: %s\n", argv[1], strerror(errno));
  return 127;
}
