/*
 * Workload for the run-overhead part of scripts/bench.mjs: a fixed amount of
 * work, timed inside the program, so that the start-up of whatever launched
 * it (Node, `ckpt run`) is not counted.  Usage: bench-run-workload MODE
 *
 *   cpu       pure computation, no system calls: 500 million steps of a
 *             multiply-shift chain (about 1 s)
 *   syscalls  2,000,000 cheap system calls: getppid() and 1-byte writes to
 *             /dev/null, alternately
 *   signals   2,000 signals to itself: raise(SIGUSR1), caught by a handler
 *
 * Prints one line: "MODE COUNT ELAPSED_NS CHECK TRACER", where ELAPSED_NS
 * is the CLOCK_MONOTONIC time of the work alone, CHECK a result that must not
 * depend on how the program runs (the computation's value, the number of
 * successful calls, the number of signals handled), and TRACER the PID that
 * traced the program when the work was done (0: none), so the bench can tell
 * that a supervised run really was supervised.
 */
#define _GNU_SOURCE /* close_range */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CPU_STEPS 500000000ull
#define SYSCALLS 2000000ull
#define SIGNALS 2000ull

static volatile sig_atomic_t handled;

static void on_usr1(int sig) { (void)sig; handled++; }

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A dependent chain of multiplies and shifts: the compiler cannot shorten it. */
static uint64_t cpu(uint64_t steps) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (uint64_t i = 0; i < steps; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    x ^= x >> 29;
  }
  return x;
}

static uint64_t syscalls(uint64_t n) {
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) { perror("/dev/null"); _exit(1); }
  uint64_t ok = 0;
  for (uint64_t i = 0; i < n; i += 2) {
    if (syscall(SYS_getppid) > 0) ok++; /* syscall(): never a cached value */
    if (write(fd, "x", 1) == 1) ok++;
  }
  close(fd);
  return ok;
}

static uint64_t signals(uint64_t n) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  for (uint64_t i = 0; i < n; i++) raise(SIGUSR1);
  return (uint64_t)handled;
}

/* TracerPid from /proc/self/status, -1 if unreadable. */
static long tracer(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long pid = -1;
  while (fgets(line, sizeof line, f)) if (sscanf(line, "TracerPid: %ld", &pid) == 1) break;
  fclose(f);
  return pid;
}

int main(int argc, char **argv) {
  /* Only stdin/stdout/stderr: fds leaked by whatever started the bench are not part of the workload. */
  close_range(3, ~0u, 0);
  if (argc != 2) { fprintf(stderr, "usage: %s cpu|syscalls|signals\n", argv[0]); return 2; }
  const char *mode = argv[1];
  uint64_t count, check, t0 = now_ns();
  if (!strcmp(mode, "cpu")) check = cpu(count = CPU_STEPS);
  else if (!strcmp(mode, "syscalls")) check = syscalls(count = SYSCALLS);
  else if (!strcmp(mode, "signals")) check = signals(count = SIGNALS);
  else { fprintf(stderr, "%s: unknown mode %s\n", argv[0], mode); return 2; }
  uint64_t elapsed = now_ns() - t0;
  printf("%s %llu %llu %llx %ld\n", mode, (unsigned long long)count, (unsigned long long)elapsed, (unsigned long long)check, tracer());
  return 0;
}
