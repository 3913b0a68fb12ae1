// Struct layouts ckpt hand-codes, checked against gcc's sizeof/offsetof on
// this machine (hand-written sizes drift; the compiler is the reference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { USER_REGS_SIZE, SIGINFO_SIZE } from '../../src/sys/ptrace.js';
import { REG_NAMES } from '../../src/sys/regs.js';

const C = `
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <signal.h>
#include <spawn.h>
#include <sys/user.h>
#include <sys/procfs.h>
#include <sys/time.h>
#include <time.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/ptrace.h>
int main(void) {
  printf("user_regs %zu\\n", sizeof(struct user_regs_struct));
  printf("rip %zu\\n", offsetof(struct user_regs_struct, rip));
  printf("fs_base %zu\\n", offsetof(struct user_regs_struct, fs_base));
  printf("prstatus %zu\\n", sizeof(struct elf_prstatus));
  printf("pr_reg %zu\\n", offsetof(struct elf_prstatus, pr_reg));
  printf("prpsinfo %zu\\n", sizeof(struct elf_prpsinfo));
  printf("mm_map %zu\\n", sizeof(struct prctl_mm_map));
  printf("clone_args %zu\\n", sizeof(struct clone_args));
  printf("set_tid %zu\\n", offsetof(struct clone_args, set_tid));
  printf("rseq_conf %zu\\n", sizeof(struct ptrace_rseq_configuration));
  printf("stack_t %zu\\n", sizeof(stack_t));
  printf("itimerval %zu\\n", sizeof(struct itimerval));
  printf("itimerspec %zu\\n", sizeof(struct itimerspec));
  printf("sigevent %zu\\n", sizeof(struct sigevent));
  printf("siginfo %zu\\n", sizeof(siginfo_t));
  printf("spawn_fa %zu\\n", sizeof(posix_spawn_file_actions_t));
  printf("spawn_attr %zu\\n", sizeof(posix_spawnattr_t));
  return 0;
}`;

test('struct sizes and offsets match gcc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-sizes-'));
  try {
    writeFileSync(join(dir, 's.c'), C);
    execFileSync('gcc', ['-o', join(dir, 's'), join(dir, 's.c')]);
    const got = Object.fromEntries(execFileSync(join(dir, 's'), { encoding: 'utf8' }).trim().split('\n').map((l) => {
      const [k, v] = l.split(' ');
      return [k, Number(v)];
    }));
    assert.equal(got.user_regs, USER_REGS_SIZE);
    assert.equal(got.rip, REG_NAMES.indexOf('rip') * 8);
    assert.equal(got.fs_base, REG_NAMES.indexOf('fs_base') * 8);
    assert.equal(got.prstatus, 336);
    assert.equal(got.pr_reg, 112);
    assert.equal(got.prpsinfo, 136);
    assert.equal(got.mm_map, 104);
    assert.equal(got.clone_args, 88);
    assert.equal(got.set_tid, 64);
    assert.equal(got.rseq_conf, 24);
    assert.equal(got.stack_t, 24);
    assert.equal(got.itimerval, 32);
    assert.equal(got.itimerspec, 32);
    assert.equal(got.sigevent, 64);
    assert.equal(got.siginfo, SIGINFO_SIZE);
    assert.equal(got.spawn_fa, 80);
    assert.equal(got.spawn_attr, 336);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
