// Live checkpoint/restore of interpreted programs: a Python 3 program and a
// Perl script, each counting; dumped with --kill, restored, the count goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, WORKLOADS, python3, readLog, tail, lines, run } from './harness.js';

const T = { timeout: 120_000 };

test('a Python 3 program: counter continues, its data intact', T, async (t) => {
  const lab = Lab.create(t);
  const py = await python3();
  const w = await lab.start(py, ['-u', join(WORKLOADS, 'counter.py')]);
  await lab.roundTrip(w, { before: 5, more: 10 });
  assert.match(readLog(w.log), /^verified 200000 squares$/m, tail(w.log));
  assert.equal(lines(w.log)[0], 'tick 0');
});

test('a Perl script: counter continues, its data intact', T, async (t) => {
  const lab = Lab.create(t);
  const perl = await run('perl', ['-e', 'print $^X']);
  assert.equal(perl.code, 0, `perl is needed: ${perl.stderr}`);
  const w = await lab.start(perl.stdout.trim(), [join(WORKLOADS, 'counter.pl')]);
  await lab.roundTrip(w, { before: 5, more: 10 });
  assert.match(readLog(w.log), /^verified hash$/m, tail(w.log));
});
