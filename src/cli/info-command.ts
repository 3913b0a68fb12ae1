import { Command } from 'commander';
import { ImageReader } from '../image/reader.js';
import { describeImage, imageSummary } from './describe.js';

export function infoCommand(): Command {
  return new Command('info')
    .description('show what an image holds: process, registers, memory, files, signals')
    .argument('<image>', 'image file')
    .option('--json', 'machine-readable output')
    .option('--verify', 'also check every byte of saved data against its checksum')
    .action((path: string, o: { json?: boolean; verify?: boolean }) => {
      const img = ImageReader.open(path);
      try {
        if (o.verify) img.verifyData();
        if (o.json) console.log(JSON.stringify(imageSummary(img), null, 2));
        else console.log(describeImage(img) + (o.verify ? '\nData: all checksums verified' : ''));
      } finally {
        img.close();
      }
    });
}
