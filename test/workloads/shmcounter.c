/* MAP_SHARED anonymous memory shared by a parent and its child: a
 * process-shared pthread mutex guarding a counter, with how many increments
 * each side made. Both increment it every millisecond under the mutex
 * (reading, yielding, then writing it back: without mutual exclusion updates
 * would be lost) and check counter == by_parent + by_child.
 * The parent prints "tick N counter C parent P child Q" every 20 ms, the
 * child "child N counter C parent P child Q". When $STOP_FILE exists the
 * child prints "child did L" (its own count, in private memory) and exits 0
 * if the shared by_child agrees; the parent reaps it and prints
 * "final counter C parent P child Q", checks P against its own count and
 * C == P + Q, and prints "done". */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>

struct shared {
  pthread_mutex_t lock;
  long counter;
  long by[2]; /* 0: parent, 1: child */
};

static struct shared *sh;

static void bump(int who) {
  int e = pthread_mutex_lock(&sh->lock);
  if (e != 0) fail("%s: pthread_mutex_lock: %s", who ? "child" : "parent", strerror(e));
  long c = sh->counter;
  sched_yield();
  sh->counter = c + 1;
  sh->by[who]++;
  if (sh->counter != sh->by[0] + sh->by[1])
    fail("%s: counter %ld != parent %ld + child %ld", who ? "child" : "parent", sh->counter, sh->by[0], sh->by[1]);
  pthread_mutex_unlock(&sh->lock);
}

static long run(int who) {
  long mine = 0, ticks = 0;
  double next = now_mono();
  while (!stop_requested()) {
    bump(who);
    mine++;
    if (now_mono() >= next) {
      pthread_mutex_lock(&sh->lock);
      long c = sh->counter, p = sh->by[0], q = sh->by[1];
      pthread_mutex_unlock(&sh->lock);
      say("%s %ld counter %ld parent %ld child %ld\n", who ? "child" : "tick", ticks++, c, p, q);
      next += tick_ms() / 1000.0;
    }
    nap_ms(1);
  }
  return mine;
}

int main(void) {
  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) fail("mmap: %s", strerror(errno));
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&sh->lock, &at);
  pid_t kid = fork();
  if (kid < 0) fail("fork: %s", strerror(errno));
  if (kid == 0) {
    long mine = run(1);
    say("child did %ld\n", mine);
    if (sh->by[1] != mine) fail("child: made %ld increments, the shared memory says %ld", mine, sh->by[1]);
    _exit(0);
  }
  say("child %d\n", kid);
  long mine = run(0);
  int st;
  if (waitpid(kid, &st, 0) != kid) fail("waitpid: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail("child ended with status 0x%x", st);
  say("final counter %ld parent %ld child %ld\n", sh->counter, sh->by[0], sh->by[1]);
  if (sh->by[0] != mine) fail("parent: made %ld increments, the shared memory says %ld", mine, sh->by[0]);
  if (sh->counter != sh->by[0] + sh->by[1]) fail("counter %ld != %ld + %ld", sh->counter, sh->by[0], sh->by[1]);
  say("done\n");
  return 0;
}
