/* Shared helpers for the ckpt live-test workloads.
 *
 * Every workload reports progress as lines on stdout (a regular file opened
 * by the test), written with write(2) so nothing waits in a stdio buffer.
 * A workload ends when the file named by $STOP_FILE exists; it then checks
 * itself and exits 0 when everything it verified was right. On a failed
 * check it prints "FAIL: ..." and exits 1.
 */
#ifndef WORKLOAD_COMMON_H
#define WORKLOAD_COMMON_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      _exit(99);
    }
    p += k;
    n -= (size_t)k;
  }
}

static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
  write_all(1, buf, (size_t)n);
}

static inline void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fail(const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  say("FAIL: %s\n", buf);
  exit(1);
}

static inline int stop_requested(void) {
  const char *p = getenv("STOP_FILE");
  return p && access(p, F_OK) == 0;
}

static inline int tick_ms(void) {
  const char *p = getenv("TICK_MS");
  return p ? atoi(p) : 20;
}

/* Sleep, going on after signal handlers. */
static inline void nap_ms(int ms) {
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static inline double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a over a buffer, 64-bit. */
static inline uint64_t checksum(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* Deterministic pseudo-random fill, so content can be re-derived. */
static inline void fill_pattern(void *p, size_t n, uint64_t seed) {
  uint64_t x = seed * 2654435761ULL + 88172645463325252ULL;
  unsigned char *b = p;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(b + i, &x, 8);
  }
  for (; i < n; i++) b[i] = (unsigned char)(x >> (8 * (i % 8)));
}

#endif
