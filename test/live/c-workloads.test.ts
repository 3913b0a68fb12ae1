// Live checkpoint/restore of small C programs, each exercising one kind of
// process state. Every program is dumped with --kill, restored in the
// foreground, and proves by its own output (and exit status) that it went on
// exactly where it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, constants as C, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import {
  Lab, compile, until, waitTick, waitLine, lastTick, lines, tail, readLog, describeRun, waitGone,
  syscallOf, procState, run,
} from './harness.js';

const T = { timeout: 120_000 };

async function info(lab: Lab, image: string): Promise<any> {
  const r = await lab.ckptOk(['info', image, '--json']);
  return JSON.parse(r.stdout);
}

for (const [label, size] of [['4 KiB', 4096], ['1 MiB', 1 << 20], ['64 MiB', 64 << 20]] as const) {
  test(`heap of ${label}: checksum unchanged after restore, counter continues`, T, async (t) => {
    const lab = Lab.create(t);
    const w = await lab.start(await compile('heap'), [String(size)]);
    await waitLine(w.log, /^size /);
    const { image } = await lab.roundTrip(w, {
      afterDump: async () => {
        const img = statSync(lab.path('img.ckpt')).size;
        assert.ok(img >= size, `the image (${img} bytes) is smaller than the heap (${size} bytes)`);
      },
    });
    const all = lines(w.log);
    const start = all.filter((l) => l.startsWith('size '));
    assert.equal(start.length, 1, `the program started over:\n${tail(w.log)}`);
    const sum = / sum ([0-9a-f]{16})$/.exec(start[0])![1];
    assert.ok(all.includes(`verified sum ${sum}`), tail(w.log));
    assert.ok(image);
  });
}

test('private (copy-on-write) and shared file mappings', T, async (t) => {
  const lab = Lab.create(t);
  const data = lab.path('data.bin');
  const shared = lab.path('shared.bin');
  const dataBytes = Buffer.alloc(16 * 4096);
  for (let j = 0; j < dataBytes.length; j++) dataBytes[j] = (j * 7) % 251;
  writeFileSync(data, dataBytes);
  writeFileSync(shared, Buffer.alloc(3 * 4096));
  const w = await lab.start(await compile('mmapfile'), [data, shared]);
  await lab.roundTrip(w, {
    afterDump: async () => {
      const meta = await info(lab, lab.path('img.ckpt'));
      const priv = meta.memory.filter((m: any) => m.name === data);
      const shr = meta.memory.filter((m: any) => m.name === shared);
      assert.equal(priv.length, 1, JSON.stringify(meta.memory, null, 1));
      assert.equal(priv[0].prot, 'rw-p');
      assert.equal(priv[0].backing, 'file');
      assert.equal(priv[0].savedBytes, 3 * 4096, 'only the 3 written (copied-on-write) pages are saved');
      assert.equal(shr.length, 1, JSON.stringify(meta.memory, null, 1));
      assert.equal(shr[0].prot, 'rw-s');
      assert.equal(shr[0].savedBytes, 0, 'a shared file mapping is kept in its file');
    },
  });
  assert.match(readLog(w.log), /^verified \d+ ticks$/m, tail(w.log));
  assert.deepEqual(readFileSync(data), dataBytes, 'the privately mapped file must be unchanged');
  const last = lastTick(w.log);
  const onDisk = readFileSync(shared);
  assert.equal(onDisk.toString('latin1', 0, `tick ${last}\n`.length), `tick ${last}\n`, 'the shared mapping writes reach the file after restore');
  assert.match(onDisk.toString('latin1', 4096, 4096 + 20), new RegExp(`^final ${last + 1}\n`));
  // The slots page: every value written before and after the checkpoint.
  for (let i = Math.max(0, last - 511); i <= last; i++) {
    assert.equal(Number(onDisk.readBigInt64LE(2 * 4096 + (i % 512) * 8)), i + 1_000_000, `slot ${i % 512}`);
  }
});

test('signal handlers and pending signals (blocked SIGUSR1 raised, SIGRTMIN+1 queued with a value)', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('signals'));
  await waitLine(w.log, /^pending usr1=1 rt=1$/);
  await waitTick(w.log, 3);
  process.kill(w.pid, 'SIGUSR2');
  await waitLine(w.log, /^tick \d+ usr2=1$/);
  await lab.roundTrip(w, {
    afterDump: async () => {
      const meta = await info(lab, lab.path('img.ckpt'));
      assert.ok(meta.threads[0].pendingSignals.includes(10), `SIGUSR1 pending for the thread: ${JSON.stringify(meta.threads[0])}`);
      assert.ok(meta.signals.sharedPending.length >= 1, `SIGRTMIN+1 pending for the process: ${JSON.stringify(meta.signals)}`);
      assert.ok(meta.signals.actions.some((a: any) => a.sig === 12 && a.handler !== '0'), 'SIGUSR2 has a handler');
    },
    afterRestore: async () => {
      process.kill(w.pid, 'SIGUSR2');
      await waitLine(w.log, /^tick \d+ usr2=2$/);
    },
  });
  const all = lines(w.log);
  assert.equal(all.filter((l) => l.startsWith('pending ')).length, 1, 'the program did not start over');
  assert.ok(all.includes('still pending usr1=1 rt=1'), tail(w.log));
  assert.ok(all.includes('handled usr1=1 rt=1 value=42 usr2=2'), tail(w.log));
});

test('sigaltstack: the handler runs on the alternate stack after restore', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('altstack'));
  await lab.roundTrip(w);
  const tk = lines(w.log).filter((l) => l.startsWith('tick '));
  assert.ok(tk.every((l) => l.endsWith(' onstack=1')), tail(w.log));
  assert.match(readLog(w.log), /^altstack ok runs=\d+$/m);
});

test('sigaltstack: checkpoint while a handler runs on the alternate stack, it returns to main after restore', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('altstack'), ['inside']);
  await lab.roundTrip(w, {
    afterDump: async () => {
      const meta = await info(lab, lab.path('img.ckpt'));
      assert.notEqual(meta.threads[0].altstack.flags, 2, 'an alternate stack is set');
    },
  });
  const tk = lines(w.log).filter((l) => l.startsWith('tick '));
  assert.ok(tk.every((l) => l.endsWith(' onstack=1 ss_onstack=1')), tail(w.log));
  assert.ok(lines(w.log).includes('back in main onstack=0 ss_onstack=0'), tail(w.log));
  assert.match(readLog(w.log), /^altstack ok runs=1$/m);
});

test('file offsets: a file read halfway goes on from its offset; an O_APPEND log goes on at its end', T, async (t) => {
  const lab = Lab.create(t);
  const input = lab.path('input.txt');
  const applog = lab.path('append.log');
  writeFileSync(input, Array.from({ length: 5000 }, (_, i) => `record ${String(i).padStart(8, '0')}\n`).join(''));
  writeFileSync(applog, 'header\n');
  const w = await lab.start(await compile('files'), [input, applog]);
  const { dumpedAt, restore } = await lab.roundTrip(w, {
    // Someone else appends to the log while the program is checkpointed.
    afterDump: () => appendFileSync(applog, 'marker\n'),
  });
  for (const l of lines(w.log).filter((x) => x.startsWith('tick '))) {
    const m = /^tick (\d+) read record (\d+)$/.exec(l);
    assert.ok(m, l);
    assert.equal(Number(m[2]), Number(m[1]), `record read at tick ${m[1]}:\n${tail(w.log)}`);
  }
  const last = lastTick(w.log);
  const expect = ['header', ...Array.from({ length: dumpedAt + 1 }, (_, i) => `tick ${i}`), 'marker', ...Array.from({ length: last - dumpedAt }, (_, i) => `tick ${dumpedAt + 1 + i}`)];
  assert.deepEqual(lines(applog), expect, 'the O_APPEND log goes on after what was appended meanwhile');
  assert.match(restore.stderr, /append\.log/, `ckpt mentions that the log grew: ${restore.stderr}`);
});

test('a deleted open file: content and offset survive, nothing left on disk', T, async (t) => {
  const lab = Lab.create(t);
  const path = lab.path('scratch.dat');
  const w = await lab.start(await compile('deleted'), [path]);
  await waitLine(w.log, /^deleted .* offset 50000$/);
  await lab.roundTrip(w, {
    afterDump: async () => {
      const meta = await info(lab, lab.path('img.ckpt'));
      assert.ok(meta.files.some((f: any) => f.kind === 'deleted-file'), JSON.stringify(meta.files));
    },
  });
  assert.match(readLog(w.log), /^verified offset 50000 and content$/m);
  assert.deepEqual(lab.files(), ['STOP', 'img.ckpt', 'out.log'], 'no ghost of the deleted file is left');
});

const record = (i: number) => `rec ${String(i).padStart(11, '0')}\n`;

/**
 * mkfifo, start the reader, and open our writer end. Opening a FIFO blocks
 * until the other end is there: the test holds it O_RDWR (which never
 * blocks) while the reader opens, then keeps a plain writer end only.
 */
async function fifoSetup(lab: Lab, count: number, pauseAt?: number) {
  const fifo = lab.path('fifo');
  const mk = await run('mkfifo', [fifo]);
  assert.equal(mk.code, 0, mk.stderr);
  const both = openSync(fifo, C.O_RDWR | C.O_NONBLOCK);
  try {
    const pause = pauseAt === undefined ? [] : [String(pauseAt), lab.path('GO')];
    const w = await lab.start(await compile('fifo'), [fifo, String(count), ...pause]);
    await waitLine(w.log, /^opened$/);
    const writer = openSync(fifo, C.O_WRONLY | C.O_NONBLOCK);
    return { fifo, w, writer };
  } finally {
    closeSync(both);
  }
}

function gotRecords(log: string): number[] {
  return lines(log).map((l) => /^got (\d+) rec (\d+)$/.exec(l)).filter((m) => m !== null).map((m) => {
    assert.equal(m![1], String(Number(m![2])), `record ${m![2]} read as #${m![1]}`);
    return Number(m![2]);
  });
}

function assertRecords(log: string, count: number): void {
  assert.deepEqual(gotRecords(log), Array.from({ length: count }, (_, i) => i), tail(log, 80));
  assert.match(readLog(log), /^done$/m);
}

test('FIFO with data in flight, the test keeps its writer end open', T, async (t) => {
  const lab = Lab.create(t);
  const { w, writer } = await fifoSetup(lab, 60, 10);
  try {
    writeSync(writer, Array.from({ length: 40 }, (_, i) => record(i)).join(''));
    // It reads 10 records and waits: 30 are in flight at the checkpoint.
    await waitLine(w.log, /^paused at 10$/);
    await lab.dumpKill(w.pid, lab.path('img.ckpt'));
    assert.equal(gotRecords(w.log).length, 10);
    const bg = lab.ckptBackground(['restore', lab.path('img.ckpt')]);
    lab.own(w.pid, w.cmd);
    writeFileSync(lab.path('GO'), '');
    await until('all 40 records read after restore', () => {
      if (bg.ended) throw new Error(describeRun(bg.args, bg.ended));
      return gotRecords(w.log).length >= 40;
    }, { detail: () => tail(w.log) });
    // The same FIFO still connects us: more data goes through.
    writeSync(writer, Array.from({ length: 20 }, (_, i) => record(40 + i)).join(''));
    const r = await lab.finish(bg);
    assert.equal(r.code, 0, describeRun(bg.args, r) + tail(w.log));
    assertRecords(w.log, 60);
  } finally {
    closeSync(writer);
  }
});

test('FIFO with data in flight, nobody else holds it: the data comes from the image', T, async (t) => {
  const lab = Lab.create(t);
  const { w, writer } = await fifoSetup(lab, 40, 10);
  writeSync(writer, Array.from({ length: 40 }, (_, i) => record(i)).join(''));
  closeSync(writer);
  await waitLine(w.log, /^paused at 10$/);
  await lab.dumpKill(w.pid, lab.path('img.ckpt'));
  // The pipe is gone with its last holder: the 30 records not read yet are only in the image.
  assert.equal(gotRecords(w.log).length, 10);
  writeFileSync(lab.path('GO'), '');
  const r = await lab.ckpt(['restore', lab.path('img.ckpt')], { timeoutMs: 60_000 });
  lab.own(w.pid, w.cmd);
  assert.equal(r.code, 0, describeRun(['restore'], r) + tail(w.log));
  assertRecords(w.log, 40);
});

test('a process blocked in read() on an empty FIFO resumes reading after restore', T, async (t) => {
  const lab = Lab.create(t);
  const { w, writer } = await fifoSetup(lab, 10);
  try {
    writeSync(writer, Array.from({ length: 5 }, (_, i) => record(i)).join(''));
    await until('5 records read', () => gotRecords(w.log).length >= 5, { detail: () => tail(w.log) });
    await until('the reader blocked in read()', () => syscallOf(w.pid) === 0 && procState(w.pid) === 'S');
    await lab.dumpKill(w.pid, lab.path('img.ckpt'));
    const res = await lab.restoreDetached(lab.path('img.ckpt'), w.cmd);
    assert.equal(res.pid, w.pid);
    // Still blocked in read(), with nothing more to read.
    await until('the restored reader blocked in read()', () => syscallOf(w.pid) === 0 && procState(w.pid) === 'S');
    assert.equal(gotRecords(w.log).length, 5);
    writeSync(writer, Array.from({ length: 5 }, (_, i) => record(5 + i)).join(''));
    await waitLine(w.log, /^done$/);
    await waitGone(w.pid);
    assertRecords(w.log, 10);
  } finally {
    closeSync(writer);
  }
});

/** CLOCK_MONOTONIC in seconds, the clock the workloads print. */
const monoNow = () => Number(process.hrtime.bigint()) / 1e9;

for (const mode of ['libc', 'raw', 'abs'] as const) {
  const what = { libc: 'sleep(3)', raw: 'the nanosleep syscall', abs: 'an absolute clock_nanosleep' }[mode];
  test(`a process blocked in ${what} sleeps on for the time it had left: not less, not all over again`, T, async (t) => {
    const lab = Lab.create(t);
    const secs = 4; // long enough for a slow dump to catch it asleep
    const w = await lab.start(await compile('sleeper'), [mode, String(secs)]);
    const t0 = Number((await waitLine(w.log, /^before 0 at ([\d.]+)$/))[1]);
    assert.ok(t0 <= monoNow() && monoNow() - t0 < 30, `the workload's CLOCK_MONOTONIC (${t0}) is not the test's (${monoNow()})`);
    // Checkpoint 1 s into the sleep, so that resuming and starting over differ by a second.
    await until('the process 1 s into its sleep', () => [35, 230].includes(syscallOf(w.pid)) && monoNow() - t0 >= 1.0);
    await lab.dumpKill(w.pid, lab.path('img.ckpt'));
    assert.equal(lines(w.log).length, 1, tail(w.log));
    lab.stop(); // it ends after the sleep in progress
    const restored = await lab.restoreDetached(lab.path('img.ckpt'), w.cmd);
    const running = monoNow(); // the program runs again (at the latest) now
    assert.equal(restored.pid, w.pid);
    await waitLine(w.log, /^done$/);
    const all = lines(w.log);
    assert.equal(all.length, 3, tail(w.log));
    const m = /^after 0 slept ([\d.]+) left ([\d.]+) woke ([\d.]+)$/.exec(all[1]);
    assert.ok(m, tail(w.log));
    const [slept, left, woke] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.ok(slept >= secs - 0.002, `slept only ${slept} s of ${secs}`);
    assert.equal(left, 0);
    t.diagnostic(`slept ${slept} s in all, woke ${(woke - running).toFixed(3)} s after the restore`);
    // At least 1 s of the sleep was over at the checkpoint: what is left is under secs - 1.
    assert.ok(woke - running < secs - 0.4, `woke ${(woke - running).toFixed(3)} s after the restore: the ${secs} s sleep started over`);
    assert.equal(all[2], 'done');
  });
}

test('an interval timer (ITIMER_REAL) keeps ticking after restore', T, async (t) => {
  const lab = Lab.create(t);
  const w = await lab.start(await compile('itimer'), [], { env: { TICK_MS: '20' } });
  await lab.roundTrip(w, {
    more: 10,
    afterDump: async () => {
      const meta = await info(lab, lab.path('img.ckpt'));
      assert.deepEqual(meta.timers.itimers.map((x: any) => [x.which, x.intervalUs]), [[0, '20000']]);
    },
  });
  assert.match(readLog(w.log), /^timer still every 20 ms after \d+ ticks$/m);
  assert.equal(lines(w.log).filter((l) => l.startsWith('timer every')).length, 1, 'the program did not start over');
});

