/* Heap memory of a given size, filled with a pattern; its checksum must be
 * the same after restore. usage: heap BYTES */
#include "common.h"

int main(int argc, char **argv) {
  if (argc < 2) fail("usage: heap BYTES");
  size_t size = strtoull(argv[1], NULL, 0);
  unsigned char *buf = malloc(size);
  if (!buf) fail("malloc(%zu)", size);
  fill_pattern(buf, size, size);
  uint64_t sum = checksum(buf, size);
  /* A second, small heap object that changes every tick: the counter. */
  volatile long *counter = malloc(sizeof *counter);
  *counter = 0;
  say("size %zu at %p sum %016llx\n", size, (void *)buf, (unsigned long long)sum);
  int ms = tick_ms();
  while (!stop_requested()) {
    say("tick %ld\n", *counter);
    (*counter)++;
    nap_ms(ms);
  }
  uint64_t now = checksum(buf, size);
  unsigned char *expect = malloc(size);
  if (!expect) fail("malloc(%zu) for the check", size);
  fill_pattern(expect, size, size);
  if (now != sum) fail("checksum changed: %016llx -> %016llx", (unsigned long long)sum, (unsigned long long)now);
  if (memcmp(expect, buf, size) != 0) fail("content differs from the pattern");
  say("verified sum %016llx\n", (unsigned long long)now);
  say("done\n");
  return 0;
}
