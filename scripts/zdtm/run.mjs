// One run of one test in one mode: start it as CRIU's zdtm does, `ckpt dump
// --kill`, `ckpt restore --detach`, SIGTERM, read the verdict the test wrote.
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, allStats, describeStatus, familyOf, kill, readStat, run, until } from './proc.mjs';

/** The fd number of the inherited pipe: no zdtm static test opens or dup2()s onto 7 (they use 0-2, 11, 12, 64, 100, 101, 110, 999). */
export const PIPE_FD = 7;

// The launcher, run by bash. zdtm.py starts tests with close_fds=True, so the
// test starts with stdio only: every other fd the runner may have inherited is
// closed. In pipe mode, fd PIPE_FD is first made the write end of a pipe read
// by a process of its own (a shell draining it with cat, and on EOF waiting
// and draining again, so it holds the read end until the runner kills it: a
// supervisor that reads a job's output). The reader is started in the
// background of a process substitution that is waited for, so the test's
// launcher has no child of ours: zdtm's library treats any SIGCHLD during start
// as a failure of the test. Arguments: FD-or-empty READER_PID_FILE TEST ARGS…
const LAUNCHER = `
closefds() { local me=$BASHPID keep=$1 n; for n in $(ls /proc/$me/fd); do if [ "$n" -gt 2 ] && [ "$n" != "$keep" ]; then exec {n}>&-; fi; done; }
fd=$1 readerpid=$2; shift 2
if [ -n "$fd" ]; then
  exec ${PIPE_FD}> >(closefds; (exec >/dev/null 2>&1; while :; do cat; sleep 0.5; done) <&0 & echo $! >"$readerpid")
  wait $!
fi
closefds "$fd"
exec "$@"
`;

const PASS_WORD = /(^|\s)PASS(\s|$)/; // zdtm.py: 'PASS' among the whitespace-separated words of the .out tail

/** Last `n` non-empty lines of a file, without zdtm's "HH:MM:SS.mmm: PID: " prefixes. */
function tail(file, n = 3) {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d+:\s+\d+:\s*/, '').trim())
      .filter(Boolean).slice(-n).join(' | ');
  } catch {
    return '';
  }
}

function ckptError(r) {
  try {
    const e = JSON.parse(r.stdout).error;
    if (e) return { code: e.code, message: e.message, problems: e.problems ?? [e.message.split('\n')[0]] };
  } catch { /* not JSON: ckpt crashed */ }
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /^(\w+Error|ckpt:)/.test(l)) ?? lines[0] ?? `exit ${r.code ?? r.signal}`;
  return { code: `exit ${r.code ?? r.signal}`, message: `ckpt crashed: ${line}`, problems: [`ckpt crashed: ${line}`] };
}

/**
 * Run `test` in `mode` ('plain' or 'pipe') under `dir`; returns the result record.
 * ctx: { cli, timeoutS, staticDir, track(pid), untrack(pid) }.
 */
export async function runTest(test, mode, dir, ctx) {
  const budgetMs = Math.max(ctx.timeoutS, test.timeout) * 1000; // each phase gets this much
  const work = join(dir, 'work');
  const img = join(dir, 'img.ckpt');
  mkdirSync(work, { recursive: true });
  chmodSync(work, 0o777); // the test drops to an unprivileged uid and writes its pid, out and test files here
  const out = join(work, `${test.name}.out`);
  const readerPidFile = join(dir, 'reader.pid');
  const res = { mode, result: null, reason: '', pid: null };
  const cleanup = [];
  const finish = (result, reason, extra = {}) => Object.assign(res, { result, reason }, extra);

  // Environment as zdtm.py sets it for the host flavour: tests without the
  // 'suid' flag switch to these unprivileged ids (the numbers CRIU's runner uses).
  const env = { ...process.env, TMPDIR: tmpdir() };
  if (!test.suid) Object.assign(env, { ZDTM_UID: '18943', ZDTM_GID: '58467', ZDTM_GROUPS: '27495 48244' });

  try {
    // --- start: the launcher forks the test daemon, which writes the pid file
    // once it is ready, then the launcher exits (0 if the test started).
    const log = openSync(join(dir, 'launch.log'), 'a');
    const started = run('bash', ['-c', LAUNCHER, 'zdtm-launch', mode === 'pipe' ? String(PIPE_FD) : '', readerPidFile, join(ctx.staticDir, test.name), ...test.argv], {
      cwd: work, env, stdio: ['ignore', log, log], timeoutMs: budgetMs,
    });
    closeSync(log);
    const launch = await started;
    if (existsSync(readerPidFile)) {
      const reader = Number(readFileSync(readerPidFile, 'utf8'));
      res.readerPid = reader;
      cleanup.push(() => killFamily(reader, 'bash'));
    }
    const pidFile = join(work, `${test.name}.pid`);
    if (existsSync(pidFile)) res.pid = Number(readFileSync(pidFile, 'utf8'));
    const pid = res.pid;
    if (pid) {
      ctx.track(pid);
      const comm = readStat(pid)?.comm;
      cleanup.unshift(() => { killFamily(pid, comm); ctx.untrack(pid); });
    }
    if (launch.timedOut) return finish('timeout', `start: no pid file within ${budgetMs / 1000} s`);
    if (launch.code !== 0 || !pid || !alive(pid)) {
      const why = tail(join(dir, 'launch.log')) || tail(`${out}.inprogress`) || tail(out) || `launcher ${launch.code === null ? 'killed' : `exit ${launch.code}`}`;
      return finish('start-failed', why);
    }
    if (mode === 'pipe') res.pipe = readlinkQuiet(`/proc/${pid}/fd/${PIPE_FD}`);

    // --- dump, killing it once the image is on disk
    const dumpArgs = [ctx.cli, 'dump', String(pid), '--kill', '-o', img, '--json'];
    if (test.criuOpts.includes('--tcp-close')) dumpArgs.push('--tcp-close'); // the one CRIU option ckpt has too
    const dump = await run(process.execPath, dumpArgs, { timeoutMs: budgetMs });
    res.dumpWallMs = Math.round(dump.ms);
    if (dump.timedOut) return finish('timeout', `dump: ckpt dump did not finish within ${budgetMs / 1000} s`);
    if (dump.code !== 0) {
      const e = ckptError(dump);
      finish('dump-refused', e.problems.join('; '), { errorCode: e.code, problems: e.problems, expected: test.crfail });
      // ckpt promises the process goes on as before when a dump fails: the
      // test itself checks that, when stopped now.
      // (A 'reqrst' test checks what only a restore brings, e.g. sockets closed by --tcp-close: not asked.)
      if (test.flags.includes('reqrst')) res.afterRefusal = 'not checked (reqrst: the test expects a restore)';
      else res.afterRefusal = alive(pid) ? (await stop(pid, out, budgetMs)).verdict : 'gone after the refused dump';
      return res;
    }
    const d = JSON.parse(dump.stdout);
    Object.assign(res, { dumpMs: Math.round(d.ms), frozenMs: Math.round(d.frozenMs), imageBytes: d.size });

    // --- the dumped process is a zombie until PID 1 reaps it (a runner that is
    // no subreaper cannot): restore needs the PID free.
    const t0 = Date.now();
    if (!(await until(() => readStat(pid) === null, Date.now() + budgetMs))) return finish('timeout', 'dump: the killed process was not reaped');
    res.reapMs = Date.now() - t0;

    // --- restore, detached. In pipe mode ckpt restore is run the way a
    // supervisor restoring its job under itself would: holding the same pipe
    // on the same fd (a write end opened through the reader's /proc fd link).
    const stdio = ['ignore', 'pipe', 'pipe'];
    let held = null;
    if (mode === 'pipe' && res.readerPid && alive(res.readerPid)) {
      held = openSync(`/proc/${res.readerPid}/fd/0`, constants.O_WRONLY);
      stdio[PIPE_FD] = held;
    }
    const restoring = run(process.execPath, [ctx.cli, 'restore', img, '--detach', '--json'], { timeoutMs: budgetMs, stdio });
    if (held !== null) closeSync(held);
    const rest = await restoring;
    res.restoreWallMs = Math.round(rest.ms);
    if (rest.timedOut) return finish('timeout', `restore: ckpt restore did not finish within ${budgetMs / 1000} s`);
    if (rest.code !== 0) {
      const e = ckptError(rest);
      return finish('restore-failed', e.message.replace(/\s*\n\s*/g, '; '), { errorCode: e.code });
    }
    const r = JSON.parse(rest.stdout);
    Object.assign(res, { restoreMs: Math.round(r.ms), notices: r.notices ?? [] });
    if (mode === 'pipe') {
      const now = readlinkQuiet(`/proc/${pid}/fd/${PIPE_FD}`);
      res.pipeAfterRestore = now;
      res.pipeReconnected = now !== null && now === readlinkQuiet(`/proc/${res.readerPid}/fd/0`);
    }

    // --- stop: SIGTERM, the test checks its state and writes PASS or FAIL
    if (!alive(pid)) {
      const st = readStat(pid);
      return finish('fail', `died after restore (${st ? describeStatus(st.exitCode) : 'reaped'})${tailOr(out)}`);
    }
    const s = await stop(pid, out, budgetMs);
    return finish(s.result, s.reason);
  } catch (e) {
    return finish('error', `runner: ${e.stack ?? e}`);
  } finally {
    for (const f of cleanup) f();
  }
}

function tailOr(out) {
  const t = tail(out) || tail(`${out}.inprogress`);
  return t ? `: ${t}` : '';
}

/** SIGTERM the test and read its verdict; { result, reason, verdict }. */
async function stop(pid, out, budgetMs) {
  let status = null;
  kill(pid, 'SIGTERM');
  const ended = await until(() => {
    const st = readStat(pid);
    if (st?.state === 'Z') status = st.exitCode;
    return st === null || st.state === 'Z' || st.state === 'X';
  }, Date.now() + budgetMs);
  if (!ended) return { result: 'timeout', reason: `stop: still running ${budgetMs / 1000} s after SIGTERM${tailOr(out)}`, verdict: 'timeout' };
  // The verdict: out.inprogress renamed to out at exit, its last lines holding PASS or FAIL.
  if (!existsSync(out)) {
    const how = status !== null ? describeStatus(status) : 'no verdict';
    return { result: 'fail', reason: `no .out verdict (${how})${tailOr(out)}`, verdict: `FAIL (${how})` };
  }
  const last = tail(out, 5);
  if (PASS_WORD.test(last)) return { result: 'pass', reason: '', verdict: 'PASS' };
  return { result: 'fail', reason: tail(out) || 'empty .out', verdict: `FAIL: ${tail(out, 1)}` };
}

function readlinkQuiet(p) {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

/**
 * Kill, by PID, what is left of a test: the members of the session it leads
 * (zdtm tests call setsid(), and no new process can take a PID that still
 * names a session), and `pid` with its descendants if it still is the process
 * named `comm` (a restored test keeps its PID and name).
 */
export function killFamily(pid, comm) {
  const st = readStat(pid);
  const same = st !== null && (!comm || st.comm === comm);
  const victims = same ? familyOf(pid) : allStats().filter((s) => s.session === pid).map((s) => s.pid);
  for (const p of victims) kill(p);
}
