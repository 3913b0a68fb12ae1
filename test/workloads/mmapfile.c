/* A private (copy-on-write) mapping of DATA, some pages written, and a
 * shared mapping of SHARED written every tick.
 * usage: mmapfile DATA SHARED
 * DATA: the test fills byte j with (j * 7) % 251; SHARED: at least 3 pages. */
#include "common.h"
#include <sys/mman.h>

#define PAGE 4096
static const int cow_pages[] = { 1, 3, 4 };
#define NCOW (int)(sizeof cow_pages / sizeof cow_pages[0])
#define SLOTS 512 /* longs in page 2 of SHARED */

static unsigned char data_byte(size_t j) { return (unsigned char)((j * 7) % 251); }

static int is_cow(size_t page) {
  for (int k = 0; k < NCOW; k++)
    if ((size_t)cow_pages[k] == page) return 1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) fail("usage: mmapfile DATA SHARED");
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) fail("open %s: %s", argv[1], strerror(errno));
  struct stat st;
  fstat(fd, &st);
  size_t dsize = (size_t)st.st_size;
  unsigned char *priv = mmap(NULL, dsize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (priv == MAP_FAILED) fail("mmap private: %s", strerror(errno));
  close(fd);
  for (int k = 0; k < NCOW; k++) memset(priv + (size_t)cow_pages[k] * PAGE, 0xc0 + k, PAGE);

  int sfd = open(argv[2], O_RDWR);
  if (sfd < 0) fail("open %s: %s", argv[2], strerror(errno));
  fstat(sfd, &st);
  size_t ssize = (size_t)st.st_size;
  char *shared = mmap(NULL, ssize, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
  if (shared == MAP_FAILED) fail("mmap shared: %s", strerror(errno));
  close(sfd);
  long *slots = (long *)(shared + 2 * PAGE);
  say("mapped private %p (%zu bytes) shared %p (%zu bytes)\n", (void *)priv, dsize, (void *)shared, ssize);

  int ms = tick_ms();
  long i = 0;
  for (; !stop_requested(); i++) {
    snprintf(shared, 64, "tick %ld\n", i);
    slots[i % SLOTS] = i + 1000000;
    say("tick %ld\n", i);
    nap_ms(ms);
  }
  /* The private mapping: written pages hold our bytes, the others the file's. */
  for (size_t j = 0; j < dsize; j++) {
    size_t page = j / PAGE;
    unsigned char want = data_byte(j);
    if (is_cow(page)) {
      for (int k = 0; k < NCOW; k++)
        if ((size_t)cow_pages[k] == page) want = (unsigned char)(0xc0 + k);
    }
    if (priv[j] != want) fail("private mapping byte %zu is %u, want %u", j, priv[j], want);
  }
  /* The file under the private mapping is untouched. */
  fd = open(argv[1], O_RDONLY);
  unsigned char b[PAGE];
  ssize_t n;
  size_t off = 0;
  while ((n = read(fd, b, sizeof b)) > 0) {
    for (ssize_t k = 0; k < n; k++)
      if (b[k] != data_byte(off + (size_t)k)) fail("file %s changed at %zu", argv[1], off + (size_t)k);
    off += (size_t)n;
  }
  close(fd);
  /* The shared mapping still holds what was written before the checkpoint. */
  for (long k = 0; k < i && k < SLOTS; k++) {
    long want = k + (i - 1 - k) / SLOTS * SLOTS + 1000000;
    if (slots[k] != want) fail("shared slot %ld holds %ld, want %ld", k, slots[k], want);
  }
  /* And it is still the file: write through the mapping, read with pread. */
  snprintf(shared + PAGE, 64, "final %ld\n", i);
  if (msync(shared, ssize, MS_SYNC) != 0) fail("msync: %s", strerror(errno));
  sfd = open(argv[2], O_RDONLY);
  char back[64] = { 0 };
  if (pread(sfd, back, sizeof back - 1, PAGE) < 0) fail("pread: %s", strerror(errno));
  close(sfd);
  char want[64];
  snprintf(want, sizeof want, "final %ld\n", i);
  if (strncmp(back, want, strlen(want)) != 0) fail("shared file holds %.20s, not %s", back, want);
  say("verified %ld ticks\n", i);
  say("done\n");
  return 0;
}
