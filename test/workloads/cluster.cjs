// A Node.js cluster: the primary forks 2 workers that answer HTTP on one
// port (the cluster's default round-robin: the primary accepts and hands
// connections to the workers over its IPC channels). Each worker keeps its
// own counter: every answer is {pid, worker, n} with n = 1, 2, 3... per
// worker. The primary prints "port P" once both listen, "worker ID PID" for
// each, and "tick N" every 50 ms; it ends its workers and prints "done" when
// $STOP_FILE exists.
const cluster = require('cluster');
const http = require('http');
const fs = require('fs');

const WORKERS = 2;
const stopRequested = () => process.env.STOP_FILE && fs.existsSync(process.env.STOP_FILE);

if (cluster.isPrimary) {
  let listening = 0;
  const log = (s) => fs.writeSync(1, `${s}\n`);
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('listening', (w, addr) => {
    log(`worker ${w.id} ${w.process.pid}`);
    if (++listening === WORKERS) log(`port ${addr.port}`);
  });
  cluster.on('exit', (w, code, signal) => {
    if (!stopping) { log(`FAIL: worker ${w.id} exited (${code ?? signal})`); process.exit(1); }
  });
  let stopping = false;
  let tick = 0;
  const timer = setInterval(() => {
    log(`tick ${tick++}`);
    if (stopRequested() && !stopping) {
      stopping = true;
      clearInterval(timer);
      cluster.disconnect(() => { log('done'); process.exit(0); });
    }
  }, 50);
} else {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    res.setHeader('Connection', 'close');
    res.end(JSON.stringify({ pid: process.pid, worker: cluster.worker.id, n }));
  });
  server.listen(0, '127.0.0.1');
}
