#!/usr/bin/env node
// The ckpt command. Each subcommand lives in its own file; this one wires
// them up and turns errors into messages and exit codes.
import { Command, CommanderError } from 'commander';
import { CkptError } from '../errors.js';
import { VERSION } from '../version.js';
import { dumpCommand } from './dump-command.js';
import { restoreCommand } from './restore-command.js';
import { infoCommand } from './info-command.js';
import { runCommand } from './run-command.js';
import { signalCommand, signalsCommand } from './signal-command.js';
import { checkCommand } from './check-command.js';
import { EXIT_HELP } from './exit-codes.js';

const program = new Command()
  .name('ckpt')
  .description('Checkpoint/restart for Linux processes: freeze a running program into a file and bring it back later,\nwith the same PID, memory, open files and signal state.')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', EXIT_HELP)
  .exitOverride();

program.addCommand(dumpCommand());
program.addCommand(restoreCommand());
program.addCommand(infoCommand());
program.addCommand(runCommand());
program.addCommand(signalCommand());
program.addCommand(signalsCommand());
program.addCommand(checkCommand());

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = report(e);
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    // Help and version are not errors; usage errors were already printed by commander.
    return e.exitCode === 0 ? 0 : 2;
  }
  const json = process.argv.includes('--json');
  if (e instanceof CkptError) {
    if (json) console.log(JSON.stringify({ error: e.toJSON() }, null, 2));
    else {
      console.error(`ckpt: ${e.message}`);
      if (e.details.hint) console.error(`hint: ${e.details.hint}`);
      if (process.env.CKPT_DEBUG && e.cause) console.error(e.cause);
    }
    return e.exitCode;
  }
  console.error(`ckpt: internal error: ${(e as Error)?.stack ?? e}`);
  return 70;
}
