// Capabilities and no_new_privs: drops CAP_NET_RAW from the bounding set,
// keeps only CAP_CHOWN and CAP_KILL (effective), CAP_CHOWN, CAP_KILL and
// CAP_SETUID (permitted), CAP_KILL (inheritable and ambient), turns on
// no_new_privs, then ticks; on STOP_FILE it checks every set is still so.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "common.h"

#define BIT(c) (1u << (c))
static void get(struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  if (syscall(SYS_capget, &h, d)) { perror("capget"); exit(2); }
}

int main(void) {
  if (prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0)) { perror("bset"); return 2; }
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2] = {{0}};
  d[0].effective = BIT(CAP_CHOWN) | BIT(CAP_KILL);
  d[0].permitted = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_SETUID);
  d[0].inheritable = BIT(CAP_KILL);
  if (syscall(SYS_capset, &h, d)) { perror("capset"); return 2; }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0)) { perror("ambient"); return 2; }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) { perror("nnp"); return 2; }
  for (int i = 0; !stop_requested(); i++) { printf("tick %d\n", i); fflush(stdout); usleep(50000); }
  get(d);
  int ok = d[0].effective == (BIT(CAP_CHOWN) | BIT(CAP_KILL)) && d[0].permitted == (BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_SETUID)) &&
    d[0].inheritable == BIT(CAP_KILL) && d[1].effective == 0 && d[1].permitted == 0 &&
    prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 0 && prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0) == 1 &&
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0) == 1 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
  printf(ok ? "caps ok\n" : "caps WRONG eff %x prm %x inh %x\n", d[0].effective, d[0].permitted, d[0].inheritable);
  printf("done\n");
  return ok ? 0 : 1;
}
