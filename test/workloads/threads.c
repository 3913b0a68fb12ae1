/* Eight threads taking turns under one mutex and condition variable, one
 * more in nanosleep: after restore every thread keeps working, the totals
 * stay consistent, and thread names survive. */
#include "common.h"
#include <pthread.h>

#define N 8
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counts[N], total, turn;
static volatile long sleeps;

static void *worker(void *arg) {
  long id = (long)arg;
  char name[16];
  snprintf(name, sizeof name, "worker%ld", id);
  pthread_setname_np(pthread_self(), name);
  for (;;) {
    pthread_mutex_lock(&mu);
    while (turn % N != id) pthread_cond_wait(&cv, &mu);
    counts[id]++;
    total++;
    turn++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    if (id == 0) usleep(2000);
  }
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "sleeper");
  for (;;) {
    struct timespec d = {0, 50 * 1000 * 1000};
    while (nanosleep(&d, &d) != 0) {}
    sleeps++;
  }
  return NULL;
}

int main(void) {
  pthread_t t[N + 1];
  for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  pthread_create(&t[N], NULL, sleeper, NULL);
  long last_total = -1, last_sleeps = -1;
  for (int tick = 0; !stop_requested(); tick++) {
    struct timespec d = {0, 100 * 1000 * 1000};
    nanosleep(&d, NULL);
    pthread_mutex_lock(&mu);
    long sum = 0;
    for (int i = 0; i < N; i++) sum += counts[i];
    if (sum != total) fail("sum %ld != total %ld", sum, total);
    for (int i = 0; i < N; i++) if (labs(counts[i] - counts[0]) > 1) fail("thread %d has %ld turns, thread 0 %ld", i, counts[i], counts[0]);
    long tot = total;
    pthread_mutex_unlock(&mu);
    if (tick > 2 && tot == last_total) fail("the workers stopped (total %ld)", tot);
    say("tick %d total %ld sleeps %ld\n", tick, tot, (long)sleeps);
    last_total = tot;
    last_sleeps = sleeps;
  }
  (void)last_sleeps;
  char name[16] = {0};
  pthread_getname_np(t[3], name, sizeof name);
  if (strcmp(name, "worker3") != 0) fail("thread name is '%s'", name);
  if (sleeps < 2) fail("the sleeping thread did not go on (%ld)", (long)sleeps);
  say("done\n");
  return 0;
}
