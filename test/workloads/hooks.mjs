// A Node.js program with checkpoint hooks that never calls freeze() itself:
// checkpoints come from outside (ckpt dump, the signals), and its hooks must
// run all the same.
import { onCheckpoint, onRestore } from 'ckpt';
import { existsSync } from 'node:fs';

let tick = 0;
onCheckpoint(() => console.log(`hook checkpoint at tick ${tick}`));
onRestore(() => console.log(`hook restore at tick ${tick}`));
const timer = setInterval(() => {
  console.log(`tick ${tick++}`);
  if (existsSync(process.env.STOP_FILE ?? '/nonexistent')) { clearInterval(timer); console.log('done'); }
}, 50);
