import { Command, Option } from 'commander';
import type { Leave } from '../dump/dump.js';
import { dumpAnyProcess } from '../run/route-dump.js';
import { CkptError } from '../errors.js';
import { bytes, ms } from '../format.js';

export function dumpCommand(): Command {
  return new Command('dump')
    .description('checkpoint a running process into an image file')
    .argument('<pid>', 'process to checkpoint')
    .option('-o, --output <file>', 'image file (default: NAME.ckpt in the current directory, NAME being the program name)')
    .addOption(new Option('--stop', 'leave the process stopped (SIGSTOP) after the dump').conflicts('kill'))
    .option('--kill', 'end the process once the image is safely on disk')
    .option('--tcp-close', 'save established TCP connections as closed: after restore the program sees the peer hang up')
    .option('--freeze-marker <file>', 'the checkpoint answers a freeze() call that waits on this file (see include/ckpt.h)')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print nothing on success')
    .addHelpText('after', '\nThe process is checkpointed with all its descendants (the tree is the unit), frozen together.\nBy default the process keeps running, as with DragonFly\'s SIGCKPT.\nThe image is written atomically with mode 0600: it holds the process\'s secrets.')
    .action((pidArg: string, o: { output?: string; stop?: boolean; kill?: boolean; json?: boolean; quiet?: boolean; tcpClose?: boolean; freezeMarker?: string }) => {
      const pid = Number(pidArg);
      if (!/^\d+$/.test(pidArg) || pid <= 0) throw new CkptError('USAGE', `not a process ID: ${pidArg}`);
      const leave: Leave = o.kill ? 'killed' : o.stop ? 'stopped' : 'running';
      const tty = process.stderr.isTTY && !o.quiet && !o.json;
      let last = 0;
      const r = dumpAnyProcess(pid, {
        output: o.output,
        leave,
        tcpClose: o.tcpClose,
        freezeMarker: o.freezeMarker,
        onProgress: tty ? (done, total) => {
          const now = Date.now();
          if (now - last < 100 && done < total) return;
          last = now;
          process.stderr.write(`\rckpt: saving memory ${bytes(done)} / ${bytes(total)}\x1b[K`);
        } : undefined,
      });
      if (tty && last) process.stderr.write('\r\x1b[K');
      if (!o.json) for (const n of r.notices) console.error(`ckpt: ${n}`);
      if (o.json) console.log(JSON.stringify({ ...r, leave }, null, 2));
      else if (!o.quiet) {
        const tree = r.processes > 1 || r.zombies ? ` (a tree of ${r.processes} processes${r.zombies ? ` and ${r.zombies} zombies` : ''})` : '';
        console.log(`${r.path}: ${bytes(r.size)} (memory ${bytes(r.memoryBytes)}) in ${ms(r.ms)}, frozen ${ms(r.frozenMs)}; process ${pid}${tree} ${leave === 'running' ? 'keeps running' : leave}`);
      }
    });
}
