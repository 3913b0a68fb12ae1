/* A file deleted while open. usage: deleted PATH
 * Creates PATH with 100000 pattern bytes, reads half of it, unlinks it and
 * ticks. At the stop the rest must read back right, from the same offset. */
#include "common.h"

#define SIZE 100000
static unsigned char byte_at(size_t j) { return (unsigned char)((j * 31 + 7) & 0xff); }

int main(int argc, char **argv) {
  if (argc < 2) fail("usage: deleted PATH");
  int fd = open(argv[1], O_RDWR | O_CREAT | O_EXCL, 0640);
  if (fd < 0) fail("create %s: %s", argv[1], strerror(errno));
  static unsigned char buf[SIZE];
  for (size_t j = 0; j < SIZE; j++) buf[j] = byte_at(j);
  write_all(fd, (char *)buf, SIZE);
  lseek(fd, 0, SEEK_SET);
  if (read(fd, buf, SIZE / 2) != SIZE / 2) fail("short read");
  if (unlink(argv[1]) != 0) fail("unlink: %s", strerror(errno));
  say("deleted %s, offset %lld\n", argv[1], (long long)lseek(fd, 0, SEEK_CUR));
  int ms = tick_ms();
  for (long i = 0; !stop_requested(); i++) {
    say("tick %ld\n", i);
    nap_ms(ms);
  }
  off_t at = lseek(fd, 0, SEEK_CUR);
  if (at != SIZE / 2) fail("offset is %lld, not %d", (long long)at, SIZE / 2);
  memset(buf, 0, sizeof buf);
  ssize_t n = read(fd, buf, SIZE);
  if (n != SIZE / 2) fail("read %zd bytes of the second half", n);
  for (size_t j = 0; j < SIZE / 2; j++)
    if (buf[j] != byte_at(j + SIZE / 2)) fail("byte %zu differs", j + SIZE / 2);
  struct stat st;
  fstat(fd, &st);
  if (st.st_nlink != 0) fail("the file has %ld links", (long)st.st_nlink);
  if (st.st_size != SIZE) fail("size %lld", (long long)st.st_size);
  if ((st.st_mode & 0777) != 0640) fail("mode %o", st.st_mode & 0777);
  if (access(argv[1], F_OK) == 0) fail("%s exists again", argv[1]);
  /* Still writable, and still a file of its own. */
  write_all(fd, "more", 4);
  char back[4];
  if (pread(fd, back, 4, SIZE) != 4 || memcmp(back, "more", 4) != 0) fail("write after restore lost");
  say("verified offset %d and content\n", SIZE / 2);
  say("done\n");
  return 0;
}
