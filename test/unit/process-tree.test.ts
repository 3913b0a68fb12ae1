// The tree plan: the steps that rebuild sessions and groups, and the shapes
// it must refuse (pure: no processes involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTree, OUTSIDE, type TreeNode } from '../../src/kinds/process-tree.js';

const n = (pid: number, ppid: number, pgid: number, sid: number, zombie?: TreeNode['zombie']): TreeNode => ({ pid, ppid, pgid, sid, zombie });

test('a lone process in its caller\'s session and group needs no step', () => {
  assert.deepEqual(planTree([n(10, 1, 5, 5)]), []);
});

test('a daemon (setsid) with a child: setsid before the fork', () => {
  assert.deepEqual(planTree([n(10, 1, 10, 10), n(11, 10, 10, 10)]), [
    { op: 'setsid', pid: 10 },
    { op: 'fork', parent: 10, pid: 11 },
  ]);
});

test('a session leader with two process groups, a zombie, and a child left in the old session', () => {
  const steps = planTree([
    n(10, 1, 10, 10), // session leader
    n(11, 10, 11, 10), // group leader of its own group
    n(12, 11, 11, 10), // member of 11's group
    n(13, 10, 10, 10, { exitCode: 3, signal: null }), // zombie
    n(14, 10, 11, 10), // joins group 11 after it exists
  ]);
  const ops = steps.map((s) => `${s.op}:${s.pid}${s.op === 'setpgid' ? `=${s.pgid}` : ''}`);
  assert.ok(ops.indexOf('setsid:10') < ops.indexOf('fork:11'), ops.join(' '));
  assert.ok(ops.indexOf('setpgid:11=11') < ops.indexOf('fork:12'), ops.join(' '));
  assert.ok(ops.indexOf('fork:13') < ops.indexOf('exit:13'), ops.join(' '));
  assert.ok(ops.includes('setpgid:14=11'), ops.join(' '));
  assert.ok(!ops.includes('setpgid:12=11'), `12 inherits its group from 11: ${ops.join(' ')}`);
});

test('a child still in the session its parent left is forked before the parent\'s setsid', () => {
  // 10 forked 11, then called setsid: 11 stayed in the caller's session (5).
  const steps = planTree([n(10, 1, 10, 10), n(11, 10, 5, 5)]);
  assert.deepEqual(steps.slice(0, 2), [{ op: 'fork', parent: 10, pid: 11 }, { op: 'setsid', pid: 10 }]);
});

test('a group outside the tree is reachable only by inheriting it', () => {
  // The root's own group (5) is outside: a child that left it and came back cannot be expressed, but one that kept it can.
  assert.deepEqual(planTree([n(10, 1, 5, 5), n(11, 10, 5, 5)]), [{ op: 'fork', parent: 10, pid: 11 }]);
  const steps = planTree([n(10, 1, 10, 5), n(11, 10, 5, 5)]);
  assert.ok(steps.some((s) => s.op === 'setpgid' && s.pid === 11 && s.pgid === OUTSIDE), JSON.stringify(steps));
});

test('a group whose leader has exited gets a stand-in leader for a moment; a session whose leader is gone is refused by name', () => {
  // 11 and 12 are in group 99, whose leader exited (a pipeline whose first command is done).
  const steps = planTree([n(10, 1, 10, 10), n(11, 10, 99, 10), n(12, 10, 99, 10)]);
  const ops = steps.map((s) => `${s.op}:${s.pid}${s.op === 'setpgid' ? `=${s.pgid}` : ''}`);
  assert.deepEqual(ops.slice(-4), ['standIn:99', 'setpgid:11=99', 'reap:99', 'setpgid:12=99'], ops.join(' '));
  assert.throws(() => planTree([n(10, 1, 5, 5), n(11, 10, 11, 77)]), (e: Error & { code?: string }) => e.code === 'KIND_UNSUPPORTED' && /session 77/.test(e.message));
});
