// /proc parsers on captured samples (fixtures/) and on hand-written edge cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseMaps } from '../../src/proc/maps.js';
import { parseStatus } from '../../src/proc/status.js';
import { parseStat } from '../../src/proc/stat.js';
import { parseFdinfo } from '../../src/proc/fdinfo.js';
import { parseTimers } from '../../src/proc/timers.js';

const fixture = (n: string) => readFileSync(new URL(`../../../test/fixtures/${n}`, import.meta.url), 'utf8');

test('maps: captured sample parses, ordered and page-aligned', () => {
  const maps = parseMaps(fixture('maps.txt'));
  assert.ok(maps.length > 5);
  for (const m of maps.filter((x) => x.path !== '[vsyscall]')) {
    assert.equal(m.start % 4096, 0);
    assert.ok(m.end > m.start);
  }
  assert.ok(maps.some((m) => m.path === '[stack]'));
  assert.ok(maps.some((m) => m.path === '[vdso]'));
});

test('maps: deleted files, spaces in names, shared anonymous memory', () => {
  const text = [
    '7f0000000000-7f0000001000 rw-s 00000000 00:01 1234                       /dev/zero (deleted)',
    '7f0000002000-7f0000004000 r--p 00001000 fd:01 99                         /tmp/a file with spaces',
    '7f0000004000-7f0000005000 ---p 00000000 00:00 0 ',
  ].join('\n');
  const [z, f, g] = parseMaps(text);
  assert.deepEqual([z.shared, z.deleted, z.path, z.inode], [true, true, '/dev/zero', 1234]);
  assert.deepEqual([f.path, f.offset, f.read, f.write, f.exec], ['/tmp/a file with spaces', 0x1000, true, false, false]);
  assert.deepEqual([g.path, g.read, g.inode], ['', false, 0]);
  assert.throws(() => parseMaps('garbage'), /unparsable/);
});

test('status: ids, masks and umask', () => {
  const s = parseStatus(fixture('status.txt'));
  assert.equal(s.uid.length, 4);
  assert.equal(typeof s.sigBlk, 'bigint');
  assert.ok(s.threads >= 1);
  const t = parseStatus('Name:\tx\nUmask:\t0027\nState:\tS (sleeping)\nTgid:\t5\nPPid:\t1\nTracerPid:\t0\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nGroups:\t10 20\nThreads:\t1\nSigPnd:\t0000000000000200\nShdPnd:\t0\nSigBlk:\tfffffffe7ffbfeff\nSigIgn:\t0\nSigCgt:\t0\nCapInh:\t0\nCapPrm:\t3\nCapEff:\t0\nCapBnd:\t000001ffffffffff\nCapAmb:\t0\n');
  assert.equal(t.capBnd, 0x1ffffffffffn);
  assert.equal(t.capPrm, 3n);
  assert.equal(t.umask, 0o27);
  assert.deepEqual(t.uid, [1, 2, 3, 4]);
  assert.deepEqual(t.groups, [10, 20]);
  assert.equal(t.sigPnd, 0x200n);
  assert.equal(t.sigBlk, 0xfffffffe7ffbfeffn);
});

test('stat: a comm with spaces and parentheses', () => {
  const fields = Array.from({ length: 52 }, (_, i) => String(i + 1));
  const text = `42 (we ird) (x) ${['S', ...fields.slice(3)].join(' ')}`;
  const s = parseStat(text);
  assert.equal(s.pid, 42);
  assert.equal(s.comm, 'we ird) (x');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 4);
  assert.equal(s.startStack, 28);
  assert.equal(s.envEnd, 51);
  const real = parseStat(fixture('stat.txt'));
  assert.ok(real.startBrk > 0 && real.argEnd > real.argStart);
});

test('fdinfo: octal flags and extra lines', () => {
  const f = parseFdinfo('pos:\t12\nflags:\t02102001\nmnt_id:\t30\nino:\t77\neventfd-count:\t5\n');
  assert.equal(f.pos, 12);
  assert.equal(f.flags, 0o2102001);
  assert.equal(f.mntId, 30);
  assert.equal(f.ino, 77);
  assert.equal(f.extra.get('eventfd-count'), '5');
  assert.ok(parseFdinfo(fixture('fdinfo.txt')).flags >= 0);
});

test('timers: signal and thread notification', () => {
  const t = parseTimers('ID: 0\nsignal: 14/00007ffd00000001\nnotify: signal/pid.100\nClockID: 1\nID: 3\nsignal: 10/0000000000000000\nnotify: signal/tid.101\nClockID: 0\n');
  assert.equal(t.length, 2);
  assert.deepEqual([t[0].id, t[0].signal, t[0].value, t[0].notify, t[0].notifyTid, t[0].clockId], [0, 14, 0x7ffd00000001n, 0, 100, 1]);
  assert.deepEqual([t[1].id, t[1].notify, t[1].notifyTid], [3, 4, 101]);
});
