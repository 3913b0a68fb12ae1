import { Command } from 'commander';
import { restore } from '../restore/restore.js';
import { ms } from './format.js';
import { Supervisor } from '../run/supervisor.js';
import { superviseUntilDone } from './run-command.js';
import { DEFAULT_TEMPLATE, checkTemplate } from '../run/template.js';


export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore a process from an image, with its original PID')
    .argument('<image>', 'image file written by ckpt dump')
    .option('-d, --detach', 'do not wait: print the PID and return at once')
    .option('-v, --verbose', 'say how long the restore took')
    .option('--json', 'print the result as JSON (implies --detach)')
    .addHelpText('after', '\nWithout --detach, ckpt waits for the restored program like a shell job and exits with its\nexit status (128+N when it was killed by signal N), supervising it as `ckpt run` does. Its stdin/stdout/stderr, when they were a\nterminal or a pipe, are connected to ckpt\'s own.')
    .option('-i, --image <template>', 'image name for later checkpoints by signal or freeze() (as for ckpt run)', DEFAULT_TEMPLATE)
    .option('--log <file>', 'write notices of later checkpoints to this file')
    .action(async (image: string, o: { detach?: boolean; verbose?: boolean; json?: boolean; image: string; log?: string }) => {
      const foreground = !o.detach && !o.json;
      if (foreground) checkTemplate(o.image);
      const r = restore(image, { supervise: foreground });
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
      // In the foreground the program is supervised as under `ckpt run`: the
      // checkpoint signals and freeze() work for it again.
      const sup = new Supervisor(r.pid, { image: o.image, log: o.log });
      sup.adopt(r.tids, r.pid);
      try {
        process.exitCode = await superviseUntilDone(sup);
      } finally {
        sup.close();
      }
    });
}
