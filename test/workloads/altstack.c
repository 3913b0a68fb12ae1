/* sigaltstack: SIGUSR1's handler (SA_ONSTACK) must run on the alternate
 * stack, checked by the address of one of its locals.
 * usage: altstack          raise SIGUSR1 every tick, report where it ran
 *        altstack inside   the handler itself ticks (the checkpoint happens
 *                          while on the alternate stack), then returns */
#include "common.h"

#define ALT_SIZE (64 * 1024)
static char *alt;
static volatile uintptr_t where;
static volatile sig_atomic_t runs;
static int inside_mode;

static int on_alt(uintptr_t a) { return a >= (uintptr_t)alt && a < (uintptr_t)alt + ALT_SIZE; }

static void __attribute__((noinline)) handler(int sig) {
  (void)sig;
  volatile char local = 0;
  where = (uintptr_t)&local;
  runs++;
  if (inside_mode) {
    int ms = tick_ms();
    for (long i = 0; !stop_requested(); i++) {
      stack_t cur;
      sigaltstack(NULL, &cur);
      volatile char here = 0;
      say("tick %ld onstack=%d ss_onstack=%d\n", i, on_alt((uintptr_t)&here), (cur.ss_flags & SS_ONSTACK) != 0);
      nap_ms(ms);
    }
  }
}

int main(int argc, char **argv) {
  inside_mode = argc > 1 && strcmp(argv[1], "inside") == 0;
  alt = malloc(ALT_SIZE);
  stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0 };
  if (sigaltstack(&ss, NULL) != 0) fail("sigaltstack: %s", strerror(errno));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  volatile char main_local = 0;
  say("altstack %p-%p main stack %p\n", (void *)alt, (void *)(alt + ALT_SIZE), (void *)&main_local);

  if (inside_mode) {
    raise(SIGUSR1);
    volatile char back = 0;
    stack_t cur;
    sigaltstack(NULL, &cur);
    say("back in main onstack=%d ss_onstack=%d\n", on_alt((uintptr_t)&back), (cur.ss_flags & SS_ONSTACK) != 0);
    if (on_alt((uintptr_t)&back) || (cur.ss_flags & SS_ONSTACK)) fail("main runs on the alternate stack");
  } else {
    int ms = tick_ms();
    for (long i = 0; !stop_requested(); i++) {
      where = 0;
      raise(SIGUSR1);
      say("tick %ld onstack=%d\n", i, on_alt(where));
      if (!on_alt(where)) fail("handler ran at %p, outside the alternate stack", (void *)where);
      nap_ms(ms);
    }
  }
  stack_t cur;
  if (sigaltstack(NULL, &cur) != 0) fail("sigaltstack query: %s", strerror(errno));
  if (cur.ss_sp != alt || cur.ss_size != ALT_SIZE || (cur.ss_flags & SS_DISABLE))
    fail("alternate stack is now %p size %zu flags %d", cur.ss_sp, cur.ss_size, cur.ss_flags);
  say("altstack ok runs=%d\n", (int)runs);
  say("done\n");
  return 0;
}
