// Which zdtm static tests there are, how each is launched, and which of them
// this runner can run at all.
//
// A test's .desc file is a Python literal (a dict of strings and lists, with
// '#' comments), read by CRIU's runner with eval(); parsePy() reads the same
// subset here. The launch command comes from make itself (`make -n X.pid`),
// so test-specific options in the Makefile are used exactly as written there.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Parse the Python literal subset used by .desc files: dicts, lists, tuples, strings, numbers, True/False/None. */
export function parsePy(text) {
  let i = 0;
  const fail = (what) => { throw new Error(`${what} at offset ${i}`); };
  const skip = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i])) i++;
      if (text[i] !== '#') return;
      while (i < text.length && text[i] !== '\n') i++;
    }
  };
  const value = () => {
    skip();
    const c = text[i];
    if (c === '{' || c === '[' || c === '(') {
      const close = { '{': '}', '[': ']', '(': ')' }[c];
      const out = c === '{' ? {} : [];
      i++;
      for (;;) {
        skip();
        if (text[i] === close) { i++; return out; }
        const v = value();
        if (c === '{') {
          skip();
          if (text[i++] !== ':') fail('expected :');
          out[v] = value();
        } else out.push(v);
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected , or ${close}`);
      }
    }
    if (c === "'" || c === '"') {
      let s = '';
      for (i++; text[i] !== c; i++) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === '\\') { i++; s += { n: '\n', t: '\t' }[text[i]] ?? text[i]; } else s += text[i];
      }
      i++;
      skip();
      return text[i] === "'" || text[i] === '"' ? s + value() : s; // adjacent literals concatenate
    }
    const m = /^(True|False|None|-?\d+(\.\d+)?)/.exec(text.slice(i));
    if (!m) fail('unexpected input');
    i += m[0].length;
    return { True: true, False: false, None: null }[m[0]] ?? Number(m[0]);
  };
  const v = value();
  skip();
  if (i < text.length) fail('trailing input');
  return v;
}

function readPy(file, dflt) {
  if (!existsSync(file) || statSync(file).size === 0) return dflt; // zdtm: an empty .desc is the default one
  try {
    return parsePy(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${e.message}`);
  }
}

const words = (s) => (typeof s === 'string' ? s.split(/\s+/).filter(Boolean) : []);

/**
 * Every static test, as CRIU's runner lists them: executable regular files in
 * test/zdtm/static, less hooks, checkskip scripts and test/zdtm.desc's exclude list.
 */
export function listTests(criu) {
  const staticDir = join(criu, 'test/zdtm/static');
  const top = readPy(join(criu, 'test/zdtm.desc'), { exclude: [] });
  const excluded = new Set((top.exclude ?? []).filter((x) => x.startsWith('static/')).map((x) => x.slice(7)));
  return readdirSync(staticDir)
    .filter((f) => {
      if (f.endsWith('.hook') || f.endsWith('.checkskip') || excluded.has(f)) return false;
      const st = lstatSync(join(staticDir, f));
      return st.isFile() && (st.mode & 0o100) !== 0;
    })
    .sort();
}

/** The command line make would run to start each test (`make -n NAME.pid`), as argv arrays; null where make has no rule. */
export function launchCommands(staticDir, names) {
  const r = spawnSync('make', ['-s', '-k', '-n', '--no-print-directory', ...names.map((n) => `${n}.pid`)], {
    cwd: staticDir, encoding: 'utf8', maxBuffer: 16 << 20,
  });
  const byName = new Map();
  for (const line of r.stdout.split('\n')) {
    const argv = words(line);
    if (argv.length === 0 || !argv[0].startsWith('./')) continue; // e.g. the `make -C ../lib` of the library prerequisite
    byName.set(argv[0].slice(2), argv.slice(1));
  }
  return new Map(names.map((n) => [n, byName.get(n) ?? null]));
}

/** What a hook file does, by the stages it handles (it is run with --pre-dump, --post-restore, … as argument). */
function hookStages(file) {
  try {
    return [...new Set(readFileSync(file, 'utf8').match(/--(pre|post)-[a-z-]+|--clean|--fault/g) ?? [])];
  } catch {
    return [];
  }
}

// Hook stages that change the host for the test (set-up after start, changes
// CRIU's restore relies on, undoing them): without running them the test is
// not the one CRIU runs, and running them means running CRIU's host set-up.
// Hooks that only inspect (--pre-dump, --post-restore: CRIU image checks) or
// handle injected faults do not matter here: those tests run without them.
const SETUP_STAGES = ['--post-start', '--pre-restore', '--clean'];

/**
 * The facts about one test, and why it is skipped (null when it runs).
 * `explicit`: named on the command line, which, as with zdtm.py -t, runs noauto tests too.
 */
export function describe(staticDir, name, argv, explicit) {
  let desc;
  let unreadable = null;
  try {
    desc = readPy(join(staticDir, `${name}.desc`), {});
  } catch (e) {
    // A few .desc files are Python expressions (computed from the environment), not literals.
    desc = {};
    unreadable = `its .desc is Python code, not a literal (${e.message.split(': ').pop()})`;
  }
  const flags = words(desc.flags);
  const flavors = words(desc.flavor ?? 'h ns uns');
  const t = {
    name,
    argv,
    flags,
    flavors,
    features: words(desc.feature),
    criuOpts: [...words(desc.opts), ...words(desc.dopts), ...words(desc.ropts)],
    suid: flags.includes('suid'),
    excl: flags.includes('excl'),
    crfail: flags.includes('crfail'),
    timeout: Number(desc.timeout) || 0,
    hook: null,
    skip: null,
  };
  const hook = join(staticDir, `${name}.hook`);
  if (existsSync(hook)) t.hook = hookStages(hook);
  const archs = words(desc.arch);
  if (unreadable) t.skip = unreadable;
  else if (!existsSync(join(staticDir, name))) t.skip = 'not built';
  else if (!argv) t.skip = 'no NAME.pid rule in the Makefile (not a daemon-style test)';
  else if (archs.length && !archs.includes('x86_64')) t.skip = `arch ${archs.join(' ')} only`;
  else if (!flavors.includes('h')) t.skip = `flavor ${[...flavors].sort().join(" ")} only: needs its own namespaces`;
  else if (flags.includes('noauto') && !explicit) t.skip = 'noauto: manual run only';
  else if (t.hook?.some((s) => SETUP_STAGES.includes(s))) t.skip = `needs its zdtm hook (${t.hook.filter((s) => SETUP_STAGES.includes(s)).join(' ')}): host set-up CRIU's runner does`;
  else if (!checkskipPasses(staticDir, name)) t.skip = 'checkskip failed (the kernel or host lacks what it tests)';
  return t;
}

/** A test's NAME.checkskip script, if any, says whether this host can run it (exit 0) — run as zdtm.py does, from the test directory. */
function checkskipPasses(staticDir, name) {
  const file = join(staticDir, `${name}.checkskip`);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    return true;
  }
  const r = spawnSync(file, [], { cwd: staticDir, stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}
