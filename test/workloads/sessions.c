/* A session with several process groups. The root calls setsid() (session
 * leader, group R) and forks:
 *   A  in a new group of its own (setpgid(0, 0))      -> group A
 *   B  in A's group                                   -> group A
 *   C  left in the root's group                       -> group R
 * and A forks
 *   D  which joins the root's group (not its parent's) -> group R
 * Each member prints "member NAME pid P ppid PP pgid G sid S" once set up;
 * then every 20 ms checks that getpid/getppid/getpgid/getsid still say the
 * same ("FAIL: ..." otherwise; the root's parent may change), the root
 * printing "tick N". When $STOP_FILE exists each prints "member NAME ok
 * after K checks" and exits 0; parents reap their children and check they
 * exited 0; the root prints "done". */
#include "common.h"
#include <sys/wait.h>

struct ids { pid_t pid, ppid, pgid, sid; };

static struct ids now(void) {
  struct ids i = { getpid(), getppid(), getpgid(0), getsid(0) };
  return i;
}

static void reap(pid_t kid, const char *name) {
  int st;
  if (waitpid(kid, &st, 0) != kid) fail("waitpid %s (%d): %s", name, kid, strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail("%s (%d) ended with status 0x%x", name, kid, st);
}

/* Run as member NAME until the stop file appears, checking identity (all but
 * the parent of the root, which is whoever started or restored it). */
static void member(const char *name, int root) {
  struct ids me = now();
  say("member %s pid %d ppid %d pgid %d sid %d\n", name, me.pid, me.ppid, me.pgid, me.sid);
  long k = 0;
  for (; !stop_requested(); k++) {
    struct ids i = now();
    if (i.pid != me.pid || (!root && i.ppid != me.ppid) || i.pgid != me.pgid || i.sid != me.sid)
      fail("member %s: pid %d ppid %d pgid %d sid %d, was pid %d ppid %d pgid %d sid %d", name,
           i.pid, i.ppid, i.pgid, i.sid, me.pid, me.ppid, me.pgid, me.sid);
    if (root) say("tick %ld\n", k);
    nap_ms(tick_ms());
  }
  say("member %s ok after %ld checks\n", name, k);
}

static pid_t spawn_member(const char *name, pid_t pgid, void (*body)(void)) {
  pid_t p = fork();
  if (p < 0) fail("fork %s: %s", name, strerror(errno));
  if (p == 0) {
    if (pgid >= 0 && setpgid(0, pgid) != 0) fail("%s: setpgid(0, %d): %s", name, pgid, strerror(errno));
    if (body) body();
    else member(name, 0);
    _exit(0);
  }
  /* The parent sets it too (as shells do), so it holds whoever runs first. */
  if (pgid >= 0 && setpgid(p, pgid == 0 ? p : pgid) != 0 && errno != EACCES)
    fail("setpgid(%s %d, %d): %s", name, p, pgid, strerror(errno));
  return p;
}

static pid_t root_pid;

static void body_a(void) {
  pid_t d = spawn_member("D", root_pid, NULL);
  member("A", 0);
  reap(d, "D");
}

int main(void) {
  if (setsid() < 0) fail("setsid: %s", strerror(errno));
  root_pid = getpid();
  pid_t a = spawn_member("A", 0, body_a);
  pid_t b = spawn_member("B", a, NULL);
  pid_t c = spawn_member("C", -1, NULL);
  member("R", 1);
  reap(a, "A");
  reap(b, "B");
  reap(c, "C");
  say("done\n");
  return 0;
}
