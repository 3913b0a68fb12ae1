/* launch PROGRAM ARGS...: exec PROGRAM with only stdin, stdout and stderr
 * open. A test runner may have inherited other descriptors without
 * close-on-exec, and ckpt (rightly) refuses to checkpoint what it cannot
 * restore, so workloads must not inherit them. The PID stays the same.
 *
 * launch --keep-fd N PROGRAM ARGS...: the same, but descriptor N (>= 3) stays
 * open too: a test hands the workload one inherited descriptor on purpose
 * (the end of a pipe whose other end the test keeps, as CI runners leave). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void close_from_to(unsigned lo, unsigned hi) {
  if (lo > hi) return;
  if (syscall(SYS_close_range, lo, hi, 0U) != 0)
    for (unsigned fd = lo; fd <= hi && fd < 65536; fd++) close((int)fd);
}

int main(int argc, char **argv) {
  int first = 1;
  long keep = -1;
  if (argc > 3 && strcmp(argv[1], "--keep-fd") == 0) {
    char *end;
    keep = strtol(argv[2], &end, 10);
    if (*end != '\0' || keep < 3 || keep > 65535) {
      fprintf(stderr, "launch: bad --keep-fd %s\n", argv[2]);
      return 127;
    }
    first = 3;
  }
  if (argc <= first) {
    fprintf(stderr, "usage: launch [--keep-fd N] PROGRAM ARGS...\n");
    return 127;
  }
  if (keep < 0) {
    close_from_to(3U, ~0U);
  } else {
    close_from_to(3U, (unsigned)keep - 1);
    close_from_to((unsigned)keep + 1, ~0U);
  }
  execvp(argv[first], argv + first);
  fprintf(stderr, "launch: %s: %s\n", argv[first], strerror(errno));
  return 127;
}
