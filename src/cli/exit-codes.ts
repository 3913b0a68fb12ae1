import { EXIT_CODES } from '../errors.js';

export const EXIT_HELP = `
Exit codes:
  0   success (restore: the restored program's own exit status, 128+N if killed by signal N)
${Object.entries(EXIT_CODES).map(([k, v]) => `  ${String(v).padEnd(3)} ${k}`).join('\n')}`;
