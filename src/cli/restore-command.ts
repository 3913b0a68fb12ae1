import { Command } from 'commander';
import { restore } from '../restore/restore.js';
import { tryWait } from '../sys/index.js';
import { ms } from './format.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore a process from an image, with its original PID')
    .argument('<image>', 'image file written by ckpt dump')
    .option('-d, --detach', 'do not wait: print the PID and return at once')
    .option('-v, --verbose', 'say how long the restore took')
    .option('--json', 'print the result as JSON (implies --detach)')
    .addHelpText('after', '\nWithout --detach, ckpt waits for the restored program like a shell job and exits with its\nexit status (128+N when it was killed by signal N). Its stdin/stdout/stderr, when they were a\nterminal or a pipe, are connected to ckpt\'s own.')
    .action((image: string, o: { detach?: boolean; verbose?: boolean; json?: boolean }) => {
      const r = restore(image);
      for (const n of r.notices) console.error(`ckpt: ${n}`);
      if (o.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      if (o.verbose) console.error(`ckpt: restored PID ${r.pid} in ${ms(r.ms)}`);
      if (o.detach) {
        console.log(r.pid);
        return;
      }
      // Like a shell: ^C and ^\ are for the job, not for ckpt waiting on it.
      for (const s of ['SIGINT', 'SIGQUIT'] as const) process.on(s, () => {});
      for (;;) {
        const w = tryWait(r.pid, 0);
        if (w?.kind === 'exited') { process.exitCode = w.code; return; }
        if (w?.kind === 'signaled') { process.exitCode = 128 + w.signal; return; }
        Atomics.wait(sleeper, 0, 0, 20);
      }
    });
}
