/* Signal handlers and pending signals.
 * SIGUSR1 is blocked and raised (pending for the thread), SIGRTMIN+1 is
 * blocked and queued with value 42 (pending for the process). Ticks report
 * how often the SIGUSR2 handler ran (the test sends SIGUSR2). At the stop:
 * both blocked signals must still be pending; once unblocked, their handlers
 * must run exactly once, the queued one with its value. */
#include "common.h"

static volatile sig_atomic_t usr1, usr2, rt, rt_value = -1;

static void handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (sig == SIGUSR1) usr1++;
  else if (sig == SIGUSR2) usr2++;
  else if (sig == SIGRTMIN + 1) {
    rt++;
    rt_value = si->si_value.sival_int;
  }
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  int sigs[] = { SIGUSR1, SIGUSR2, SIGRTMIN + 1 };
  for (int k = 0; k < 3; k++)
    if (sigaction(sigs[k], &sa, NULL) != 0) fail("sigaction %d", sigs[k]);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGRTMIN + 1);
  sigprocmask(SIG_BLOCK, &block, NULL);
  raise(SIGUSR1);
  union sigval v = { .sival_int = 42 };
  if (sigqueue(getpid(), SIGRTMIN + 1, v) != 0) fail("sigqueue: %s", strerror(errno));
  sigset_t pend;
  sigpending(&pend);
  say("pending usr1=%d rt=%d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGRTMIN + 1));

  int ms = tick_ms();
  long i = 0;
  for (; !stop_requested(); i++) {
    if (usr1 || rt) fail("a blocked signal's handler ran");
    say("tick %ld usr2=%d\n", i, (int)usr2);
    nap_ms(ms);
  }
  sigpending(&pend);
  int p1 = sigismember(&pend, SIGUSR1), p2 = sigismember(&pend, SIGRTMIN + 1);
  say("still pending usr1=%d rt=%d\n", p1, p2);
  if (!p1 || !p2) fail("pending signals lost");
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  say("handled usr1=%d rt=%d value=%d usr2=%d\n", (int)usr1, (int)rt, (int)rt_value, (int)usr2);
  if (usr1 != 1 || rt != 1 || rt_value != 42) fail("handlers of the pending signals did not run as expected");
  say("done\n");
  return 0;
}
