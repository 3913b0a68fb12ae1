// A checkpoint-aware Node.js program: freeze() with hooks.
import { freeze, onCheckpoint, onRestore } from 'ckpt';
import { existsSync } from 'node:fs';

let connection = 'open';
let counter = 41;
onCheckpoint(() => { connection = 'closed'; console.log('hook checkpoint'); });
onRestore(() => { connection = 'reopened'; console.log('hook restore'); });
const r = await freeze();
counter++;
console.log(`freeze ${r} counter ${counter} connection ${connection}`);
const stop = setInterval(() => {
  if (existsSync(process.env.STOP_FILE ?? '/nonexistent')) { clearInterval(stop); console.log('done'); }
}, 20);
