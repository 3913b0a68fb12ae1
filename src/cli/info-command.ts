import { Command } from 'commander';
import { ImageReader } from '../image/reader.js';
import { describeImage, imageSummary } from './describe.js';
import { exportCore } from '../image/export-core.js';
import { CkptError } from '../errors.js';
import { bytes } from '../format.js';

export function infoCommand(): Command {
  return new Command('info')
    .description('show what an image holds: process, registers, memory, files, signals')
    .argument('<image>', 'image file')
    .option('--json', 'machine-readable output')
    .option('--verify', 'also check every byte of saved data against its checksum')
    .option('--core <pid>', 'write process PID of the image as a plain core file for gdb (any process of a tree)')
    .option('-o, --output <file>', 'where --core writes (default: core.PID)')
    .addHelpText('after', '\nAn image is an ELF core of its root process: `gdb PROGRAM IMAGE` opens it. For another process of a\ntree, `ckpt info IMAGE --core PID` writes its own core file first.')
    .action((path: string, o: { json?: boolean; verify?: boolean; core?: string; output?: string }) => {
      const img = ImageReader.open(path);
      try {
        if (o.verify) img.verifyData();
        if (o.core !== undefined) {
          if (!/^\d+$/.test(o.core)) throw new CkptError('USAGE', `--core ${o.core}: not a PID`);
          const r = exportCore(img, Number(o.core), o.output ?? `core.${o.core}`);
          if (o.json) console.log(JSON.stringify(r, null, 2));
          else console.log(`${r.path}: core of process ${o.core} (${bytes(r.size)}); open it with gdb PROGRAM ${r.path}`);
          return;
        }
        if (o.json) console.log(JSON.stringify(imageSummary(img), null, 2));
        else console.log(describeImage(img) + (o.verify ? '\nData: all checksums verified' : ''));
      } finally {
        img.close();
      }
    });
}
