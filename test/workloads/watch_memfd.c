/* inotify with a dropped watch (so watch numbers have a gap), and a sealed
 * memfd read halfway: both used only after the checkpoint. */
#include "common.h"
#include <sys/inotify.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
  if (argc < 2) fail("usage: watch_memfd DIR");
  int in = inotify_init1(IN_NONBLOCK);
  int w1 = inotify_add_watch(in, argv[1], IN_DELETE);
  int w2 = inotify_add_watch(in, "/", IN_ATTRIB);
  inotify_rm_watch(in, w1);
  int w3 = inotify_add_watch(in, argv[1], IN_CREATE);
  char junk[4096];
  while (read(in, junk, sizeof junk) > 0) {} /* the IN_IGNORED of the dropped watch */
  int m = memfd_create("ckpt-test", MFD_ALLOW_SEALING);
  write_all(m, "memfd content", 13);
  fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
  lseek(m, 6, SEEK_SET);
  for (int tick = 0; !stop_requested(); tick++) {
    say("tick %d\n", tick);
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  char path[4096], buf[4096];
  snprintf(path, sizeof path, "%s/created-after-restore", argv[1]);
  close(open(path, O_CREAT | O_WRONLY, 0600));
  /* Other files appear in DIR too (the test's STOP file): look for ours, on watch w3. */
  int found = 0, bad_wd = 0;
  for (int i = 0; i < 300 && !found; i++) {
    int n = read(in, buf, sizeof buf);
    if (n <= 0) { usleep(10000); continue; }
    for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len) {
      struct inotify_event *e = (void *)p;
      if (e->wd != w3) bad_wd = e->wd;
      if (e->len && !strcmp(e->name, "created-after-restore")) found = 1;
    }
  }
  if (!found || bad_wd) fail("inotify: found=%d, event on wd %d (want only %d)", found, bad_wd, w3);
  (void)w2;
  char mb[32] = {0};
  if (read(m, mb, 31) != 7 || strcmp(mb, "content")) fail("memfd: '%s'", mb);
  if (fcntl(m, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW)) fail("memfd seals 0x%x", fcntl(m, F_GET_SEALS));
  say("done\n");
  return 0;
}
