/*
 * ckpt.h -- freeze() for checkpoint-aware C programs (header-only).
 *
 *   #include "ckpt.h"
 *   int r = ckpt_freeze();
 *     0  the checkpoint image is safely written; this is the original process
 *     1  this is a copy restored from that image (`ckpt restore IMAGE`)
 *    -1  no checkpoint could be taken (errno set: EIO when ckpt failed,
 *        ENOENT when the ckpt command cannot be found, ETIMEDOUT)
 *
 * As with DragonFly BSD's SIGCKPT: a program that wants to prepare itself
 * installs a handler for SIGCKPT (ckpt_sigckpt(), i.e. SIGRTMAX-1), does its
 * "suspend stuff" there, and calls ckpt_freeze().
 *
 * How: the program and ckpt talk through a small file. Under `ckpt run` or
 * a foreground `ckpt restore` (the supervisor traces the program), the
 * request goes into the supervisor's directory /tmp/ckpt-run.<PID>/;
 * otherwise ckpt_freeze() starts `ckpt dump --freeze-marker FILE PID`
 * itself ($CKPT, or `ckpt` on the PATH). ckpt writes "checkpointed" into
 * the file once the image is on disk; restoring the image writes "restored"
 * before the copy runs again. The image is named as for SIGCKPT under
 * `ckpt run`, or NAME.ckpt in the current directory otherwise.
 */
#ifndef CKPT_H
#define CKPT_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline int ckpt_sigckpt(void) { return SIGRTMAX - 1; }
static inline int ckpt_sigckptexit(void) { return SIGRTMAX; }

/* The ckpt supervising this process (`ckpt run`, or a foreground `ckpt
 * restore`): its tracer, when that tracer has a request directory. */
static inline int ckpt__supervisor(void) {
  int tracer = 0;
  char line[256], dir[64];
  FILE *f = fopen("/proc/self/status", "re");
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "TracerPid: %d", &tracer) == 1) break;
  fclose(f);
  if (tracer <= 0) return 0;
  snprintf(dir, sizeof dir, "/tmp/ckpt-run.%d", tracer);
  struct stat st;
  return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? tracer : 0;
}

static inline int ckpt_freeze(void) {
  static unsigned seq;
  char marker[128], text[256];
  pid_t self = getpid();
  int supervisor = ckpt__supervisor();
  unsigned n = ++seq + (unsigned)time(NULL) * 1000u;
  if (supervisor)
    snprintf(marker, sizeof marker, "/tmp/ckpt-run.%d/freeze.%d.%u", supervisor, (int)self, n);
  else
    snprintf(marker, sizeof marker, "/tmp/ckpt-freeze.%d.%u", (int)self, n);
  int fd = open(marker, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (supervisor && write(fd, "request\n", 8) != 8) { close(fd); unlink(marker); errno = EIO; return -1; }
  close(fd);
  if (!supervisor) {
    /* Start ckpt in a grandchild: the process must have no child while it is dumped. */
    char pid_text[16];
    snprintf(pid_text, sizeof pid_text, "%d", (int)self);
    const char *ckpt = getenv("CKPT") ? getenv("CKPT") : "ckpt";
    pid_t c = fork();
    if (c < 0) { unlink(marker); return -1; }
    if (c == 0) {
      if (fork() == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) { dup2(null, 0); dup2(null, 1); }
        execlp(ckpt, ckpt, "dump", "--quiet", "--freeze-marker", marker, pid_text, (char *)NULL);
        FILE *m = fopen(marker, "we");
        if (m) { fprintf(m, "error: cannot run %s: %s\n", ckpt, strerror(errno)); fclose(m); }
        _exit(127);
      }
      _exit(0);
    }
    int status;
    while (waitpid(c, &status, 0) < 0 && errno == EINTR) {}
  }
  /* Wait for ckpt's word; the process is frozen, dumped and let go meanwhile. */
  for (long waited = 0; waited < 600000; waited++) {
    int m = open(marker, O_RDONLY | O_CLOEXEC);
    ssize_t k = m < 0 ? -1 : read(m, text, sizeof text - 1);
    if (m >= 0) close(m);
    if (k > 0) {
      text[k] = 0;
      if (!strncmp(text, "checkpointed", 12)) { unlink(marker); return 0; }
      if (!strncmp(text, "restored", 8)) {
        unlink(marker);
        if (supervisor) { /* the supervisor of the original is gone: tidy its directory */
          char *slash = strrchr(marker, '/');
          if (slash) { *slash = 0; rmdir(marker); }
        }
        return 1;
      }
      if (!strncmp(text, "error", 5)) {
        unlink(marker);
        errno = strstr(text, "cannot run") ? ENOENT : EIO;
        return -1;
      }
    }
    struct timespec d = {0, 1000000};
    nanosleep(&d, NULL);
  }
  unlink(marker);
  errno = ETIMEDOUT;
  return -1;
}

#endif /* CKPT_H */
