/* Two ends of a shell pipeline `pipeline gen N | FILTER | pipeline sink N OUT`:
 *
 *   gen N       writes "seq NNNNNNNN" lines 0..N-1 (padded to 32 bytes) to
 *               stdout as fast as the pipe takes them, then "gen done N" on
 *               stderr.
 *   sink N OUT  reads "N SQUARE" lines from stdin (what the filter made of
 *               them), checks each is the next number with its square, and
 *               appends it to OUT; it reads slowly (a 1 ms nap every 20
 *               lines), so the pipes before it stay full. At end of input it
 *               prints "sink done COUNT" and exits 0 when it got exactly N.
 * Progress goes to stderr ("sink at K" every 1000 lines). */
#include "common.h"

static int gen(long n) {
  char line[64];
  for (long i = 0; i < n; i++) {
    int k = snprintf(line, sizeof line, "seq %08ld %-18s\n", i, "pad");
    write_all(1, line, (size_t)k);
  }
  char msg[64];
  int k = snprintf(msg, sizeof msg, "gen done %ld\n", n);
  write_all(2, msg, (size_t)k);
  return 0;
}

static int sink(long n, const char *out_path) {
  int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) fail("open %s: %s", out_path, strerror(errno));
  char buf[8192], line[256], msg[128];
  size_t len = 0;
  long count = 0;
  for (;;) {
    ssize_t k = read(0, buf, 256); /* small reads: slow on purpose */
    if (k < 0) {
      if (errno == EINTR) continue;
      fail("sink read: %s", strerror(errno));
    }
    if (k == 0) break;
    for (ssize_t i = 0; i < k; i++) {
      if (buf[i] != '\n') {
        if (len >= sizeof line - 1) fail("sink: line too long at %ld", count);
        line[len++] = buf[i];
        continue;
      }
      line[len] = '\0';
      len = 0;
      long v, sq;
      if (sscanf(line, "%ld %ld", &v, &sq) != 2) fail("sink: bad line '%s' after %ld", line, count);
      if (v != count) fail("sink: got %ld, expected %ld", v, count);
      if (sq != v * v) fail("sink: %ld squared is not %ld", v, sq);
      int m = snprintf(msg, sizeof msg, "%ld %ld\n", v, sq);
      write_all(out, msg, (size_t)m);
      count++;
      if (count % 1000 == 0) {
        m = snprintf(msg, sizeof msg, "sink at %ld\n", count);
        write_all(2, msg, (size_t)m);
      }
      if (count % 20 == 0) nap_ms(1);
    }
  }
  if (len != 0) fail("sink: partial last line after %ld", count);
  int m = snprintf(msg, sizeof msg, "sink done %ld\n", count);
  write_all(2, msg, (size_t)m);
  if (count != n) fail("sink: got %ld lines, expected %ld", count, n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "gen") == 0) return gen(atol(argv[2]));
  if (argc == 4 && strcmp(argv[1], "sink") == 0) return sink(atol(argv[2]), argv[3]);
  fprintf(stderr, "usage: pipeline gen N | pipeline sink N OUT\n");
  return 2;
}
