/*
 * Workload for scripts/bench.mjs: a process with MIB MiB of dirty anonymous
 * memory.  Usage: bench-workload MIB
 *
 * Fills every page with pseudo-random words (nothing the kernel or ckpt
 * could treat as zero pages), prints "ready", then sleeps until killed.
 * On SIGUSR1 it prints "sum <hex>", a checksum of the whole area, so the
 * bench can check that a restored process has the same memory.
 */
#define _GNU_SOURCE /* close_range */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t want_sum;

static void on_usr1(int sig) { (void)sig; want_sum = 1; }

static void say(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w <= 0) _exit(3);
    s += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s MIB\n", argv[0]); return 2; }
  /* Only stdin/stdout/stderr: fds leaked by whatever started the bench are not part of the workload. */
  close_range(3, ~0u, 0);
  size_t len = (size_t)strtoul(argv[1], NULL, 10) << 20;
  uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) { perror("mmap"); return 1; }

  size_t words = len / sizeof *mem;
  uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: no zero words, no repeats */
  for (size_t i = 0; i < words; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    mem[i] = x;
  }

  /* SIGUSR1 is blocked except inside sigsuspend(), so none is lost. */
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGUSR1);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);

  say("ready\n");
  for (;;) {
    sigsuspend(&wait_mask);
    if (!want_sum) continue;
    want_sum = 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < words; i++) h = (h ^ mem[i]) * 0x100000001b3ull;
    char line[64];
    snprintf(line, sizeof line, "sum %016llx %zu\n", (unsigned long long)h, len);
    say(line);
  }
}
