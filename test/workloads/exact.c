// Process state that used to come back different without a word (CRIU's
// zdtm found each): madvise flags of mappings, a shared read-only mapping of
// a file opened for writing (mprotect must still make it writable), a memfd's
// mode, an eventfd counter of two hex digits, THP disabled, child subreaper.
// Sets them, ticks, and on STOP_FILE checks each and prints "exact ok".
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include "common.h"

/** The VmFlags line of the mapping at `addr`, from /proc/self/smaps. */
static int has_flag(void *addr, const char *flag) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512], want[32];
  snprintf(want, sizeof want, "%lx-", (unsigned long)addr);
  int in = 0, found = 0;
  while (fgets(line, sizeof line, f)) {
    if (strchr(line, '-') && strncmp(line, want, strlen(want)) == 0) in = 1;
    else if (in && strncmp(line, "VmFlags:", 8) == 0) { char pat[8]; snprintf(pat, sizeof pat, " %s", flag); found = strstr(line, pat) != NULL; break; }
  }
  fclose(f);
  return found;
}

int main(void) {
  size_t len = 1 << 20;
  char *a = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *b = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(a, 1, 4096); memset(b, 2, 4096);
  if (madvise(a, len, MADV_DONTFORK) || madvise(a, len, MADV_DONTDUMP) || madvise(b, len, MADV_WIPEONFORK)) { perror("madvise"); return 2; }
  int rw = open("exact.data", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (ftruncate(rw, 4096)) return 2;
  char *ro = mmap(0, 4096, PROT_READ, MAP_SHARED, rw, 0);
  close(rw);
  int mfd = memfd_create("exact", 0);
  if (fchmod(mfd, 0642)) { perror("fchmod"); return 2; }
  int efd = eventfd(0, 0);
  uint64_t v = 90;
  if (write(efd, &v, 8) != 8) return 2;
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) { perror("prctl"); return 2; }
  for (int i = 0; !stop_requested(); i++) { printf("tick %d\n", i); fflush(stdout); usleep(50000); }
  int bad = 0;
  if (!has_flag(a, "dc") || !has_flag(a, "dd")) { printf("WRONG: madvise DONTFORK/DONTDUMP lost\n"); bad = 1; }
  if (!has_flag(b, "wf")) { printf("WRONG: madvise WIPEONFORK lost\n"); bad = 1; }
  if (mprotect(ro, 4096, PROT_READ | PROT_WRITE)) { printf("WRONG: the shared mapping cannot be made writable\n"); bad = 1; }
  struct stat st;
  fstat(mfd, &st);
  if ((st.st_mode & 07777) != 0642) { printf("WRONG: memfd mode %o\n", st.st_mode & 07777); bad = 1; }
  v = 0;
  if (read(efd, &v, 8) != 8 || v != 90) { printf("WRONG: eventfd counter %llu\n", (unsigned long long)v); bad = 1; }
  int sub = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0);
  if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1 || sub != 1) { printf("WRONG: prctl state lost\n"); bad = 1; }
  if (!bad) printf("exact ok\n");
  printf("done\n");
  return bad;
}
