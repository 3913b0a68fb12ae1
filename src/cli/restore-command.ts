import { Command } from 'commander';
import * as v from 'valibot';
import { restore } from '../restore/restore.js';
import { ms } from '../format.js';
import { Supervisor } from '../run/supervisor.js';
import { superviseUntilDone, checkpointForeground } from './run-command.js';
import { TerminalRelay, parseKey, DEFAULT_KEY } from '../run/terminal.js';
import { ImageReader } from '../image/reader.js';
import { inheritedStdio } from '../kinds/inherited-stdio.js';
import { DEFAULT_TEMPLATE, checkTemplate } from '../run/template.js';


/** The saved modes of the terminal the program had as stdin/stdout/stderr, if any. */
function terminalModes(path: string): Buffer | undefined {
  const img = ImageReader.open(path);
  try {
    for (const f of img.meta.files) {
      if (f.kind !== 'inherit') continue;
      const st = v.safeParse(inheritedStdio.schema, f.state);
      if (st.success && st.output.termios) return Buffer.from(st.output.termios, 'base64');
    }
    return undefined;
  } finally {
    img.close();
  }
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore a process from an image, with its original PID')
    .argument('<image>', 'image file written by ckpt dump')
    .option('-d, --detach', 'do not wait: print the PID and return at once')
    .option('-v, --verbose', 'say how long the restore took')
    .option('--json', 'print the result as JSON (implies --detach)')
    .option('--fd <[pid:]n=spec>', 'put SPEC into fd N of the root (or of process PID) instead of what the image has:\na file, - (ckpt restore\'s stdin/stdout) or &K (ckpt restore\'s fd K); repeatable', (v: string, all: string[]) => [...all, v], [] as string[])
    .addHelpText('after', '\nThe whole process tree of the image comes back: every PID, parent, process group and session as it was.\nWithout --detach, ckpt waits for the restored program (the root of the tree) like a shell job and exits with its\nexit status (128+N when it was killed by signal N), supervising it as `ckpt run` does. Its stdin/stdout/stderr, when they were a\nterminal or a pipe to outside the tree, are connected to ckpt\'s own. A pipe or socket whose peer was outside the tree comes\nback with that peer gone (a notice says which) unless --fd plugs something in or ckpt restore holds the same pipe.')
    .option('-i, --image <template>', 'image name for later checkpoints by signal or freeze() (as for ckpt run)', DEFAULT_TEMPLATE)
    .option('--log <file>', 'write notices of later checkpoints to this file')
    .option('-k, --key <key>', 'for a terminal program: the key that checkpoints it again (none: no key)', DEFAULT_KEY)
    .action(async (image: string, o: { detach?: boolean; verbose?: boolean; json?: boolean; image: string; log?: string; key: string; fd: string[] }) => {
      const foreground = !o.detach && !o.json;
      if (foreground) checkTemplate(o.image);
      const key = parseKey(o.key);
      // A terminal program restored on a terminal gets a terminal again: a
      // pseudo-terminal ckpt relays, with the program's saved modes.
      const modes = foreground && process.stdin.isTTY && process.stdout.isTTY ? terminalModes(image) : undefined;
      const relay = modes ? new TerminalRelay(key, () => checkpointForeground(relay!)) : undefined;
      if (relay && modes) relay.setModes(modes);
      let r;
      try {
        r = restore(image, { supervise: foreground, terminal: relay?.slave, plugs: o.fd });
      } catch (e) {
        relay?.close();
        throw e;
      }
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
      const sup = new Supervisor(r.pid, { image: o.image, log: o.log, notify: relay ? (t) => relay.notice(t) : undefined });
      for (const p of r.processes) sup.adopt(p.tids, p.pid);
      if (relay) {
        relay.start();
        try { process.kill(r.pid, 'SIGWINCH'); } catch { /* gone */ } // redraw at this terminal's size
      }
      try {
        process.exitCode = await superviseUntilDone(sup);
      } finally {
        relay?.close();
        sup.close();
      }
    });
}
