// The terminal experience, in tmux (a real terminal, driven by send-keys
// and read by capture-pane): vim and a Python REPL under `ckpt run`,
// checkpointed with the key, quit, and restored into the terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Lab, run, until, tracerOf, CKPT } from './harness.js';

const T = { timeout: 120_000 };

class Tmux {
  readonly socket = `ckpt-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  constructor(private readonly lab: Lab) {}
  async cmd(...args: string[]): Promise<string> {
    const r = await run('tmux', ['-L', this.socket, ...args]);
    if (r.code !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  /** A session running `shell` (a command line) in the lab's directory. */
  start(name: string, shell: string, size = { x: 100, y: 30 }) {
    return this.cmd('new-session', '-d', '-s', name, '-x', String(size.x), '-y', String(size.y), '-c', this.lab.dir, `${shell}; echo EXITED $?; sleep 600`);
  }
  keys(name: string, ...keys: string[]) {
    return this.cmd('send-keys', '-t', name, ...keys);
  }
  screen(name: string) {
    return this.cmd('capture-pane', '-p', '-t', name);
  }
  async waitFor(name: string, re: RegExp, what: string): Promise<string> {
    let last = '';
    return until(what, async () => { last = await this.screen(name); return re.test(last) ? last : undefined; }, { detail: () => last });
  }
  async close() {
    await run('tmux', ['-L', this.socket, 'kill-server']);
  }
}

const ckpt = `'${process.execPath}' '${CKPT}'`;

test('vim under ckpt run: ^E checkpoints an unsaved buffer; quit without saving; restore brings the text back and :wq writes it', T, async (t) => {
  const lab = Lab.create(t);
  const tm = new Tmux(lab);
  t.after(() => tm.close());
  await tm.start('a', `${ckpt} run -- vim -u NONE -N notes.txt`, { x: 80, y: 20 });
  await tm.waitFor('a', /notes\.txt/, 'vim to start');
  await tm.keys('a', 'ihello from an unsaved buffer', 'Escape');
  await tm.waitFor('a', /hello from an unsaved buffer/, 'the typed text');
  await tm.keys('a', 'C-e');
  await until('the image', () => existsSync(lab.path('vim.ckpt')) || undefined);
  await tm.keys('a', ':q!', 'Enter');
  await tm.waitFor('a', /EXITED 0/, 'vim to quit without saving');
  assert.equal(existsSync(lab.path('notes.txt')), false);
  await tm.start('b', `${ckpt} restore vim.ckpt`);
  await tm.waitFor('b', /hello from an unsaved buffer/, 'the unsaved text back on screen');
  await tm.keys('b', ':wq', 'Enter');
  await tm.waitFor('b', /EXITED 0/, 'vim to write and quit');
  assert.equal(readFileSync(lab.path('notes.txt'), 'utf8'), 'hello from an unsaved buffer\n');
});

test('a Python REPL: variables survive ^E, exit and restore into the terminal; the key works again', T, async (t) => {
  const lab = Lab.create(t);
  const tm = new Tmux(lab);
  t.after(() => tm.close());
  await tm.start('a', `${ckpt} run -- python3 -q`);
  await tm.waitFor('a', /^>>>/m, 'the prompt');
  await tm.keys('a', 'answer = 6 * 7; words = ["check", "point"]', 'Enter');
  await tm.keys('a', 'C-e');
  const notice = await tm.waitFor('a', /checkpointed to/, 'the notice');
  const pid = Number(/PID (\d+) checkpointed/.exec(notice)?.[1]);
  await tm.keys('a', 'exit()', 'Enter');
  await tm.waitFor('a', /EXITED 0/, 'python to exit');
  await tm.start('b', `${ckpt} restore python3.ckpt`);
  // Type only once ckpt relays the terminal again (it puts the pane in raw mode), as one waits for any program to start.
  const paneTty = (await tm.cmd('display-message', '-p', '-t', 'b', '#{pane_tty}')).trim();
  await until('ckpt to relay the terminal', async () => / -echo /.test(` ${(await run('stty', ['-F', paneTty, '-a'])).stdout.replace(/\s+/g, ' ')} `) || undefined);
  assert.ok(tracerOf(pid) > 0, 'the restored REPL is supervised');
  await tm.keys('b', 'print(answer, "-".join(words))', 'Enter');
  const s = await tm.waitFor('b', /^42 check-point$/m, 'the variables');
  assert.equal((s.match(/print\(answer/g) ?? []).length, 1, `the line is echoed once (terminal modes restored):\n${s}`);
  // Checkpointed again by the key, from the restored copy.
  const before = readFileSync(lab.path('python3.ckpt')).length;
  await tm.keys('b', 'big = "x" * 3000000', 'Enter');
  await tm.keys('b', 'C-e');
  await tm.waitFor('b', /checkpointed to/, 'a second checkpoint');
  await until('a bigger image', () => readFileSync(lab.path('python3.ckpt')).length > before || undefined);
  await tm.keys('b', 'exit()', 'Enter');
  await tm.waitFor('b', /EXITED 0/, 'python to exit');
});

test('job control: ^Z stops the program and ckpt with it, fg brings both back', T, async (t) => {
  const lab = Lab.create(t);
  const tm = new Tmux(lab);
  t.after(() => tm.close());
  await tm.start('a', 'PS1="shell$ " bash --norc -i');
  await tm.waitFor('a', /shell\$/, 'the shell');
  await tm.keys('a', `${ckpt} run -- python3 -q`, 'Enter');
  await tm.waitFor('a', /^>>>/m, 'the prompt');
  await tm.keys('a', 'kept = 20', 'Enter');
  await tm.keys('a', 'C-z');
  await tm.waitFor('a', /Stopped/, 'the job to stop');
  await tm.keys('a', 'fg', 'Enter');
  await tm.keys('a', 'print(kept + 1)', 'Enter');
  await tm.waitFor('a', /^21$/m, 'the program to go on');
  await tm.keys('a', 'exit()', 'Enter');
  await tm.waitFor('a', /^shell\$\s*$/m, 'the shell again');
});

test('an unknown key name is a clear error', async () => {
  const r = await run(process.execPath, [CKPT, 'run', '--key', 'F13', '--', '/bin/true']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown key "F13"/);
});
