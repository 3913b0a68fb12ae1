/* Reads COUNT 16-byte records from a FIFO, one per tick, printing each.
 * usage: fifo PATH COUNT [PAUSE_AT GO_FILE]
 * Between records it blocks in read() when the FIFO is empty. With PAUSE_AT,
 * it stops reading after that many records ("paused at N") until GO_FILE
 * exists, so that a checkpoint surely finds data in flight. */
#include "common.h"

#define REC 16

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: fifo PATH COUNT");
  long count = atol(argv[2]);
  long pause_at = argc > 4 ? atol(argv[3]) : -1;
  const char *go = argc > 4 ? argv[4] : NULL;
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
    if (i + 1 == pause_at) {
      say("paused at %ld\n", pause_at);
      while (access(go, F_OK) != 0) nap_ms(ms);
    }
    nap_ms(ms);
  }
  say("done\n");
  return 0;
}
