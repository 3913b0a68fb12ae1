import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { supervisorOf } from '../run/delegate.js';
import { CkptError } from '../errors.js';
import { SIGCKPT, SIGCKPTEXIT } from '../signals.js';

export function signalCommand(): Command {
  return new Command('signal')
    .description('checkpoint a program running under `ckpt run`, by sending it SIGCKPT')
    .argument('<pid>', 'the program')
    .option('--exit', 'send SIGCKPTEXIT: checkpoint, then end it')
    .action((pidArg: string, o: { exit?: boolean }) => {
      const pid = Number(pidArg);
      if (!/^\d+$/.test(pidArg) || pid <= 0) throw new CkptError('USAGE', `not a process ID: ${pidArg}`);
      if (!existsSync(`/proc/${pid}`)) throw new CkptError('NO_SUCH_PROCESS', `no process with PID ${pid}`, { pid });
      if (supervisorOf(pid) === undefined) {
        throw new CkptError('USAGE', `PID ${pid} is not running under ckpt, so a checkpoint signal would kill it`, { pid, hint: `start it with \`ckpt run -- COMMAND\`, or checkpoint it directly with \`ckpt dump ${pid}\`` });
      }
      process.kill(pid, o.exit ? SIGCKPTEXIT : SIGCKPT);
    });
}

export function signalsCommand(): Command {
  return new Command('signals')
    .description('print the checkpoint signals')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      if (o.json) {
        console.log(JSON.stringify({ SIGCKPT, SIGCKPTEXIT }));
        return;
      }
      console.log(`SIGCKPT     ${SIGCKPT}  (SIGRTMAX-1)  checkpoint the program; it goes on running`);
      console.log(`SIGCKPTEXIT ${SIGCKPTEXIT}  (SIGRTMAX)    checkpoint the program, then end it once the image is safe`);
    });
}
