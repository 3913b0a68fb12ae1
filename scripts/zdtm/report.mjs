// The results: per-mode counts, ckpt's refusal reasons grouped across tests,
// and the table.

export const RESULTS = ['pass', 'fail', 'dump-refused', 'restore-failed', 'timeout', 'start-failed', 'error', 'skipped'];

export function counts(tests, mode) {
  const c = Object.fromEntries(RESULTS.map((r) => [r, 0]));
  for (const t of tests) {
    const r = t.skip ? 'skipped' : t[mode]?.result;
    if (r) c[r]++;
  }
  c.run = RESULTS.filter((r) => r !== 'skipped').reduce((n, r) => n + c[r], 0);
  return c;
}

/** One reason with the numbers (PIDs, fds, sizes) and paths taken out, so that the same cause groups across tests. */
export function normalize(reason) {
  return reason
    .replace(/(?<=^|[\s(=])\/[^\s:;,'")]+/g, 'PATH')
    .replace(/\bchild process \d+ \([^)]*\)/g, 'child process')
    .replace(/0x[0-9a-f]+/gi, 'N')
    .replace(/\d+(\.\d+)?/g, 'N')
    .trim();
}

/**
 * The causes behind non-passing runs of `mode`, most frequent first: each
 * ckpt refusal counts once per problem kind per test (a test with five
 * unsupported fds of one kind counts once), other results by their reason.
 */
export function groupReasons(tests, mode) {
  const groups = new Map();
  for (const t of tests) {
    const r = t[mode];
    if (!r || r.result === 'pass') continue;
    const keys = r.result === 'dump-refused' ? r.problems.map((p) => normalize(p).replace(/^fd N: /, 'fd: ')) : [normalize(r.reason).slice(0, 160)];
    for (const k of new Set(keys)) {
      const key = `${r.result}: ${k}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(t.name);
    }
  }
  return [...groups].map(([reason, names]) => ({ reason, count: names.length, tests: names })).sort((a, b) => b.count - a.count);
}

const short = { pass: 'pass', fail: 'FAIL', 'dump-refused': 'refused', 'restore-failed': 'restore-fail', timeout: 'timeout', 'start-failed': 'no-start', error: 'error', skipped: 'skip' };

export function printTable(tests, modes, write = (s) => process.stdout.write(s + '\n')) {
  const head = ['test', ...modes, 'dump ms', 'restore ms', 'reason'];
  const rows = tests.map((t) => {
    const runs = modes.map((m) => t[m]);
    const cell = (r) => (t.skip ? 'skip' : r ? short[r.result] + (r.expected ? '*' : '') : '-');
    const first = runs.find((r) => r?.dumpMs !== undefined);
    // The reason of the first mode that did not pass (the skip reason for a skipped test).
    const bad = modes.find((m) => t[m] && t[m].result !== 'pass');
    let reason = t.skip ?? (bad ? (modes.length > 1 && bad !== modes[0] ? `${bad}: ` : '') + t[bad].reason : '');
    if (reason.length > 110) reason = reason.slice(0, 107) + '...';
    return [t.name, ...runs.map(cell), first?.dumpMs?.toString() ?? '', first?.restoreMs?.toString() ?? '', reason];
  });
  const w = head.map((h, i) => (i === head.length - 1 ? 0 : Math.max(h.length, ...rows.map((r) => r[i].length))));
  const fmt = (cells) => cells.map((c, i) => (i === cells.length - 1 ? c : i === 0 || i <= modes.length ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  write(fmt(head));
  write(fmt(w.map((n) => '-'.repeat(n || 6))));
  for (const r of rows) write(fmt(r));
}
