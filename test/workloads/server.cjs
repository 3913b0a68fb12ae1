// A plain Node.js HTTP server keeping a counter and a large object in
// memory, with a setInterval timer. Prints its port, then serves.
const http = require('http');
const fs = require('fs');
let n = 0;
let ticks = 0;
const big = Array.from({ length: 200000 }, (_, i) => `value-${i}`);
setInterval(() => { ticks++; }, 20);
const server = http.createServer((req, res) => {
  res.end(JSON.stringify({ n: ++n, ticks, big: big.length, last: big[big.length - 1], pid: process.pid }));
});
server.listen(0, '127.0.0.1', () => {
  console.log(`port ${server.address().port}`);
});
setInterval(() => { if (process.env.STOP_FILE && fs.existsSync(process.env.STOP_FILE)) { console.log('done'); process.exit(0); } }, 50);
