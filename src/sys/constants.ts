// Linux x86_64 ABI constants, C spellings kept. Grouped by uapi header.

// asm/unistd_64.h
export const SYS = {
  read: 0, write: 1, madvise: 28, preadv: 295, setsid: 112, open: 2, close: 3, fstat: 5, lseek: 8, mmap: 9, mprotect: 10,
  munmap: 11, brk: 12, rt_sigaction: 13, rt_sigprocmask: 14, ioctl: 16, pread64: 17,
  pwrite64: 18, nanosleep: 35, getitimer: 36, setitimer: 38, getpid: 39, dup2: 33, dup: 32,
  wait4: 61, kill: 62, fcntl: 72, ftruncate: 77, chdir: 80, fchdir: 81, umask: 95,
  ptrace: 101, setresuid: 117, setresgid: 119, setgroups: 116, sigaltstack: 131,
  personality: 135, prctl: 157, arch_prctl: 158, gettid: 186, tkill: 200, futex: 202,
  set_tid_address: 218, restart_syscall: 219, timer_create: 222, timer_settime: 223,
  timer_gettime: 224, timer_delete: 226, clock_gettime: 228, clock_nanosleep: 230,
  exit_group: 231, tgkill: 234, openat: 257, unlinkat: 263, readlinkat: 267,
  set_robust_list: 273, get_robust_list: 274, tee: 276, pipe2: 293, dup3: 292,
  rt_tgsigqueueinfo: 297, prlimit64: 302, process_vm_readv: 310, process_vm_writev: 311,
  rseq: 334, pidfd_open: 434, clone3: 435, close_range: 436, rt_sigqueueinfo: 129,
  eventfd2: 290, epoll_create1: 291, epoll_ctl: 233, timerfd_create: 283, timerfd_settime: 286,
  signalfd4: 289, kcmp: 312, setpgid: 109, getpgid: 121, flock: 73, fchmod: 91, fchown: 93, mremap: 25, rt_sigtimedwait: 128, pidfd_getfd: 438,
} as const;

// linux/ptrace.h
export const PTRACE = {
  PEEKDATA: 2, POKEDATA: 5, CONT: 7, KILL: 8, SINGLESTEP: 9, GETREGS: 12, SETREGS: 13,
  DETACH: 17, SETOPTIONS: 0x4200, GETEVENTMSG: 0x4201, GETSIGINFO: 0x4202,
  SETSIGINFO: 0x4203, GETREGSET: 0x4204, SETREGSET: 0x4205, SEIZE: 0x4206,
  INTERRUPT: 0x4207, LISTEN: 0x4208, PEEKSIGINFO: 0x4209, GETSIGMASK: 0x420a,
  SETSIGMASK: 0x420b, GET_SYSCALL_INFO: 0x420e, GET_RSEQ_CONFIGURATION: 0x420f,
} as const;
export const PTRACE_O = {
  TRACESYSGOOD: 1, TRACEFORK: 2, TRACEVFORK: 4, TRACECLONE: 8, TRACEEXEC: 0x10,
  TRACEEXIT: 0x40, EXITKILL: 0x100000,
} as const;
export const PTRACE_EVENT = { FORK: 1, VFORK: 2, CLONE: 3, EXEC: 4, EXIT: 6, STOP: 128 } as const;
export const PTRACE_PEEKSIGINFO_SHARED = 1;

// linux/elf.h (regset note types)
export const NT = { PRSTATUS: 1, PRFPREG: 2, PRPSINFO: 3, AUXV: 6, SIGINFO: 0x53494749, FILE: 0x46494c45, X86_XSTATE: 0x202 } as const;

// asm-generic/mman-common.h
export const PROT = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;
export const MAP = {
  SHARED: 0x01, PRIVATE: 0x02, FIXED: 0x10, ANONYMOUS: 0x20, GROWSDOWN: 0x0100,
  NORESERVE: 0x4000, FIXED_NOREPLACE: 0x100000,
} as const;

// asm-generic/fcntl.h
export const O = {
  RDONLY: 0, WRONLY: 1, RDWR: 2, ACCMODE: 3, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400,
  TRUNC: 0o1000, APPEND: 0o2000, NONBLOCK: 0o4000, DSYNC: 0o10000, ASYNC: 0o20000,
  DIRECT: 0o40000, LARGEFILE: 0o100000, DIRECTORY: 0o200000, NOFOLLOW: 0o400000,
  NOATIME: 0o1000000, CLOEXEC: 0o2000000, PATH: 0o10000000,
} as const;
export const F = { DUPFD: 0, GETFD: 1, SETFD: 2, GETFL: 3, SETFL: 4, DUPFD_CLOEXEC: 1030 } as const;
export const FD_CLOEXEC = 1;
export const AT_FDCWD = -100;
export const AT_REMOVEDIR = 0x200;

// linux/prctl.h
export const PR = {
  SET_PDEATHSIG: 1, GET_PDEATHSIG: 2, SET_NAME: 15, GET_NAME: 16, SET_MM: 35, SET_CHILD_SUBREAPER: 36, GET_CHILD_SUBREAPER: 37, GET_TID_ADDRESS: 40, SET_THP_DISABLE: 41, GET_THP_DISABLE: 42,
  TIMER_CREATE_RESTORE_IDS: 77,
} as const;
export const PR_SET_MM_MAP = 14;
export const PR_SET_MM_MAP_SIZE = 15;

// asm/prctl.h
export const ARCH = { SET_GS: 0x1001, SET_FS: 0x1002, GET_FS: 0x1003, GET_GS: 0x1004, MAP_VDSO_64: 0x2003 } as const;

// linux/wait.h
export const WNOHANG = 1;
export const WUNTRACED = 2;
export const __WALL = 0x40000000;

// asm/signal.h
export const SIG = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, PROF: 27,
} as const;
export const NSIG = 64;
export const SA_RESTORER = 0x04000000;
export const SS_DISABLE = 2;

// linux/errno.h (kernel-internal restart codes seen in rax of a stopped syscall)
export const ERESTARTSYS = 512;
export const ERESTARTNOINTR = 513;
export const ERESTARTNOHAND = 514;
export const ERESTART_RESTARTBLOCK = 516;

// linux/time.h
export const TIMER_ABSTIME = 1;
export const CLOCK_MONOTONIC = 1;

export const PAGE_SIZE = 4096;
/** Highest user address + 1 on x86_64 with 4-level paging. */
export const TASK_SIZE = 0x7ffffffff000;
