/* Reads COUNT 16-byte records from a FIFO, one per tick, printing each.
 * usage: fifo PATH COUNT
 * Between records it blocks in read() when the FIFO is empty. */
#include "common.h"

#define REC 16

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: fifo PATH COUNT");
  long count = atol(argv[2]);
  /* Waits for a writer (the test has one open already). */
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) fail("open %s: %s", argv[1], strerror(errno));
  say("opened\n");
  int ms = tick_ms();
  for (long i = 0; i < count; i++) {
    char rec[REC + 1] = { 0 };
    size_t got = 0;
    while (got < REC) {
      ssize_t n = read(fd, rec + got, REC - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read: %s", strerror(errno));
      if (n == 0) fail("end of file after %ld records", i);
      got += (size_t)n;
    }
    rec[REC - 1] = 0;
    say("got %ld %s\n", i, rec);
    nap_ms(ms);
  }
  say("done\n");
  return 0;
}
