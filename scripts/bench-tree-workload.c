/*
 * Workload for the trees part of scripts/bench.mjs: a process tree.
 *   bench-tree-workload sleep N KIB       root + N-1 children, all asleep
 *   bench-tree-workload pool N MIB WMIB   root fills MIB MiB, then forks N workers
 *
 * sleep: every process fills KIB KiB of its own; even children sleep in
 * pause(), odd ones in read() on a pipe the root holds open (the two ways
 * idle workers wait in practice). pool: nobody writes the root's MIB MiB after
 * the fork, so it stays shared copy-on-write with every worker; each worker
 * fills WMIB MiB of its own and bumps its tick counter every 10 ms.
 *
 * Slot i (0 the root, then the children in fork order) of a MAP_SHARED
 * anonymous page is the bench's view of process i, read through
 * /proc/ROOT/mem: a restored tree whose page is no longer shared, or whose
 * processes do not run, shows up there. On SIGUSR1 a process checksums what
 * it filled (and in pool mode the root's area) against the sum taken at fill
 * time and bumps `checked`, or `bad` when it differs.
 *
 * stdout: "ready ADDR PID..." (ADDR the slots' address, root PID first) once
 * every process is ready; then every process puts /dev/null on it, so that
 * nothing ties the tree to the bench. stderr: diagnostics only.
 */
#define _GNU_SOURCE /* close_range */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct slot { volatile long ticks, checked, bad; }; /* 24 bytes, as trees.mjs reads them */
#define MAX_PROCS 170 /* 170 slots fit in one page */

static struct slot *slots;
static int me;                            /* my slot */
static uint64_t *own, *inherited;         /* what I filled; the root's area (pool mode) */
static size_t own_words, inherited_words;
static uint64_t own_sum, inherited_sum;   /* their checksums at fill time */

static void die(const char *what) { perror(what); _exit(1); }

static uint64_t sum(const uint64_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* Pseudo-random words (nothing ckpt could take for zero pages), different in each process. */
static uint64_t *fill(size_t bytes, uint64_t seed, uint64_t *check) {
  uint64_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  uint64_t x = seed * 0x9e3779b97f4a7c15ull | 1;
  for (size_t i = 0; i < bytes / 8; i++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; p[i] = x; }
  *check = sum(p, bytes / 8);
  return p;
}

/* Only reads memory and writes the slot: safe in a handler, whatever the process was doing. */
static void on_usr1(int sig) {
  (void)sig;
  int ok = sum(own, own_words) == own_sum && (!inherited || sum(inherited, inherited_words) == inherited_sum);
  if (ok) slots[me].checked++; else slots[me].bad++;
}

static void say(const char *s) {
  for (size_t n = strlen(s); n > 0;) {
    ssize_t w = write(1, s, n);
    if (w <= 0) die("write");
    s += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  int pool = argc == 5 && strcmp(argv[1], "pool") == 0;
  if (!pool && !(argc == 4 && strcmp(argv[1], "sleep") == 0)) {
    fprintf(stderr, "usage: %s sleep N KIB | pool N MIB WMIB\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[2]);
  int kids = pool ? n : n - 1;
  if (n < 1 || kids + 1 > MAX_PROCS) { fprintf(stderr, "N must be 1..%d\n", MAX_PROCS - 1); return 2; }
  size_t own_bytes = pool ? strtoul(argv[4], NULL, 10) << 20 : strtoul(argv[3], NULL, 10) << 10;
  own_words = own_bytes / 8;
  close_range(3, ~0u, 0); /* fds leaked by whoever started the bench are no part of the tree */

  slots = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (slots == MAP_FAILED) die("mmap");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  if (pool) {
    inherited_words = (strtoul(argv[3], NULL, 10) << 20) / 8;
    inherited = fill(inherited_words * 8, 1000, &inherited_sum);
  }

  int devnull = open("/dev/null", O_RDWR), ready[2], hold[2];
  if (devnull < 0 || pipe(ready) != 0 || pipe(hold) != 0) die("open/pipe");
  char line[16 * MAX_PROCS + 64];
  int len = snprintf(line, sizeof line, "ready %lx %d", (unsigned long)slots, getpid());
  for (int i = 1; i <= kids; i++) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid > 0) { len += snprintf(line + len, sizeof line - len, " %d", pid); continue; }
    me = i;
    dup2(devnull, 1);
    close(devnull);
    close(ready[0]);
    close(hold[1]);
    own = fill(own_bytes, (uint64_t)i + 1, &own_sum);
    if (write(ready[1], "", 1) != 1) die("write ready");
    close(ready[1]);
    if (pool) { /* a worker: busy now and then, like one waiting for jobs with a timeout */
      close(hold[0]);
      for (;;) {
        slots[me].ticks++;
        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
      }
    }
    char c;
    if (i % 2) { while (read(hold[0], &c, 1) != 0) {} _exit(0); } /* ends when the root does */
    close(hold[0]);
    for (;;) pause();
  }
  if (!pool) own = fill(own_bytes, 1, &own_sum); /* the pool root's memory is the inherited area */
  else { own = inherited; own_words = inherited_words; own_sum = inherited_sum; inherited = NULL; }
  close(ready[1]);
  close(hold[0]);
  if (pool || kids == 0) close(hold[1]); /* nobody reads it: ckpt would call it a pipe to outside the tree */
  char c;
  for (int i = 0; i < kids; i++) if (read(ready[0], &c, 1) != 1) { fprintf(stderr, "a child died before it was ready\n"); return 1; }
  close(ready[0]);
  snprintf(line + len, sizeof line - len, "\n");
  say(line);
  dup2(devnull, 1);
  close(devnull);
  for (;;) pause(); /* hold[1] stays open in sleep mode: the odd children's read() waits */
}
