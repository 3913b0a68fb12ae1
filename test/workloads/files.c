/* File offsets and O_APPEND. usage: files INPUT APPENDLOG
 * Reads INPUT one 16-byte record per tick (the offset must always be 16 per
 * record read) and appends "tick N" to APPENDLOG (opened O_APPEND). */
#include "common.h"

#define REC 16

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: files INPUT APPENDLOG");
  int in = open(argv[1], O_RDONLY);
  if (in < 0) fail("open %s: %s", argv[1], strerror(errno));
  int lg = open(argv[2], O_WRONLY | O_APPEND);
  if (lg < 0) fail("open %s: %s", argv[2], strerror(errno));
  int ms = tick_ms();
  long i = 0;
  for (; !stop_requested(); i++) {
    char rec[REC + 1] = { 0 };
    ssize_t n = read(in, rec, REC);
    if (n != REC) fail("read %zd bytes at record %ld", n, i);
    off_t at = lseek(in, 0, SEEK_CUR);
    if (at != (off_t)(i + 1) * REC) fail("offset %lld after record %ld", (long long)at, i);
    rec[REC - 1] = 0;
    char line[64];
    int len = snprintf(line, sizeof line, "tick %ld\n", i);
    write_all(lg, line, (size_t)len);
    say("tick %ld read %s\n", i, rec);
    nap_ms(ms);
  }
  say("done\n");
  return 0;
}
