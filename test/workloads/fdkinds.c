/* eventfd, a pipe with data in flight, epoll watching them and a timerfd,
 * a signalfd: created before the checkpoint, used only after it. */
#include "common.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

int main(void) {
  int e = eventfd(5, EFD_NONBLOCK | EFD_SEMAPHORE);
  int p[2];
  if (pipe2(p, O_NONBLOCK) != 0) fail("pipe2");
  write_all(p[1], "hello world", 11);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0x1234567890ULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
  ev.events = EPOLLIN;
  ev.data.u64 = 42;
  epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
  int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec its = {{0, 50000000}, {3600, 0}}; /* first expiry in an hour */
  timerfd_settime(t, 0, &its, NULL);
  ev.data.u64 = 77;
  epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR2);
  sigprocmask(SIG_BLOCK, &m, NULL);
  int s = signalfd(-1, &m, SFD_NONBLOCK);
  for (int tick = 0; !stop_requested(); tick++) {
    say("tick %d\n", tick);
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
  }
  struct epoll_event out[8];
  int n = epoll_wait(ep, out, 8, 1000), seen = 0;
  for (int i = 0; i < n; i++) seen |= out[i].data.u64 == 0x1234567890ULL ? 1 : out[i].data.u64 == 42 ? 2 : out[i].data.u64 == 77 ? 4 : 8;
  if (seen != 3) fail("epoll saw %d (n=%d), expected eventfd and pipe only", seen, n);
  uint64_t v;
  if (read(e, &v, 8) != 8 || v != 1) fail("eventfd semaphore read %lu", (unsigned long)v);
  char buf[32] = {0};
  if (read(p[0], buf, sizeof buf) != 11 || strcmp(buf, "hello world")) fail("pipe data '%s'", buf);
  struct itimerspec left;
  timerfd_gettime(t, &left);
  if (left.it_value.tv_sec < 3000) fail("timerfd has %ld s left, expected about an hour", (long)left.it_value.tv_sec);
  kill(getpid(), SIGUSR2);
  struct signalfd_siginfo si;
  if (read(s, &si, sizeof si) != sizeof si || si.ssi_signo != SIGUSR2) fail("signalfd");
  say("done\n");
  return 0;
}
