import { Command } from 'commander';
import { CkptError } from '../errors.js';
import { startSupervised, Supervisor } from '../run/supervisor.js';
import { DEFAULT_TEMPLATE, checkTemplate } from '../run/template.js';
import { setChildSubreaper } from '../sys/index.js';
import { SIGCKPT, SIGCKPTEXIT } from '../signals.js';
import { TerminalRelay, parseKey, DEFAULT_KEY } from '../run/terminal.js';

/** Run the supervision loop until the job's main process ends; resolves to its exit code. */
export function superviseUntilDone(sup: Supervisor): Promise<number> {
  // ^C and ^\ are for the job, like a shell's; TERM and HUP are passed on to it.
  for (const s of ['SIGINT', 'SIGQUIT'] as const) process.on(s, () => {});
  for (const s of ['SIGTERM', 'SIGHUP'] as const) process.on(s, () => { try { process.kill(sup.mainPid, s); } catch { /* gone */ } });
  return new Promise((resolve, reject) => {
    const tick = () => {
      try {
        const code = sup.pump();
        if (code !== undefined) {
          clearInterval(timer);
          process.removeListener('SIGCHLD', tick);
          resolve(code);
        }
      } catch (e) {
        clearInterval(timer);
        reject(e);
      }
    };
    // Ptrace events wake ckpt through SIGCHLD; the timer is for freeze() requests.
    const timer = setInterval(tick, 100);
    process.on('SIGCHLD', tick);
    tick();
  });
}

/** The key: SIGCKPT to the terminal's foreground process group, as ^\\ sends SIGQUIT. */
export function checkpointForeground(relay: TerminalRelay): void {
  // To the group's leader only: one checkpoint of the job, not one per member.
  const pgrp = relay.foreground();
  if (pgrp && pgrp > 0) try { process.kill(pgrp, SIGCKPT); } catch { /* gone */ }
}

export function runCommand(): Command {
  return new Command('run')
    .description('run a program under ckpt: the checkpoint signals and freeze() work for it')
    .argument('<command...>', 'the program and its arguments (put -- before them)')
    .option('-i, --image <template>', `image name: %N program name, %P PID, %U user, %T time; relative to the program's directory`, DEFAULT_TEMPLATE)
    .option('--log <file>', 'write notices (where each image went) to this file instead of the terminal')
    .option('--tcp-close', 'checkpoints save established TCP connections as closed instead of failing')
    .option('-k, --key <key>', 'on a terminal, the key that checkpoints the foreground program (none: no key)', DEFAULT_KEY)
    .addHelpText('after', `
While it runs, send it the checkpoint signals from anywhere:
  kill -s RTMAX-1 PID   (SIGCKPT, ${SIGCKPT}): checkpoint, the program goes on
  kill -s RTMAX PID     (SIGCKPTEXIT, ${SIGCKPTEXIT}): checkpoint, then end it
or use \`ckpt signal [--exit] PID\`. A program with its own handler for them gets
the signal instead (and may call freeze()). ckpt exits with the program's status.

Example:
  ckpt run --image '/var/ckpt/%N-%T.ckpt' -- python3 train.py`)
    .action(async (argv: string[], o: { image: string; log?: string; tcpClose?: boolean; key: string }) => {
      if (!argv.length) throw new CkptError('USAGE', 'no command to run');
      checkTemplate(o.image);
      const key = parseKey(o.key);
      setChildSubreaper();
      // On a terminal, the program gets a pseudo-terminal of its own that ckpt relays (for the key).
      const relay = process.stdin.isTTY && process.stdout.isTTY ? new TerminalRelay(key, () => checkpointForeground(relay!)) : undefined;
      const pid = startSupervised(argv, relay?.slave);
      const sup = new Supervisor(pid, { image: o.image, log: o.log, tcpClose: o.tcpClose, notify: relay ? (t) => relay.notice(t) : undefined });
      relay?.start();
      try {
        process.exitCode = await superviseUntilDone(sup);
      } finally {
        relay?.close();
        sup.close();
      }
    });
}
