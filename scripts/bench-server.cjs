// The Node.js HTTP server of the fast-start benchmark (scripts/bench.mjs):
// a catalogue service that does the usual start-up work before it listens.
//
//   node scripts/bench-server.cjs PORT --data CATALOGUE.json
//
// At start-up it loads modules (http, zlib, crypto and other built-ins;
// commander and zod from node_modules), reads the catalogue (a JSON document
// of several MB written by the bench), hashes it, parses it, validates every
// record with a zod schema, and builds indexes and a gzipped summary. Then it
// listens on 127.0.0.1:PORT and prints "listening PORT" with the time at the
// end of each start-up phase (ms since the process started). Every answer is
// derived from the data, so the bench can check that a restored server serves
// exactly what a freshly started one does:
//   GET /            -> {pid, records, digest, tags, cheapest, summaryGz}
//   GET /item/ID     -> the same plus the record with that id
// Start-up is deterministic: the same file gives the same answers.
'use strict';
const { performance } = require('node:perf_hooks');
const phase = [];
const mark = (name) => { phase.push(`${name} ${performance.now().toFixed(0)}`); };
mark('node');
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const util = require('node:util');
const { EventEmitter } = require('node:events');
const { Command } = require('commander');
const { z } = require('zod');

const cli = new Command()
  .argument('<port>', 'TCP port on 127.0.0.1')
  .requiredOption('--data <file>', 'catalogue JSON')
  .parse(process.argv);
const port = Number(cli.args[0]);
mark('modules');
const dataFile = path.resolve(cli.opts().data);

const Record = z.object({
  id: z.number().int().nonnegative(),
  sku: z.string().regex(/^SKU-[0-9A-F]{8}$/),
  name: z.string().min(1),
  email: z.string().includes('@'),
  tags: z.array(z.string()).max(8),
  price: z.number().positive(),
  stock: z.number().int(),
  created: z.string(),
  address: z.object({ street: z.string(), city: z.string(), zip: z.string(), country: z.string().length(2) }),
  ratings: z.array(z.number().int().min(1).max(5)),
  description: z.string(),
});
const Catalogue = z.object({ version: z.number(), generated: z.string(), records: z.array(z.unknown()) });

const text = fs.readFileSync(dataFile, 'utf8');
const digest = crypto.createHash('sha256').update(text).digest('hex');
mark('read+hash');
const doc = Catalogue.parse(JSON.parse(text));
mark('parse');
const records = doc.records.map((r) => Record.parse(r));
mark('validate');

const byId = new Map();
const byTag = new Map();
for (const r of records) {
  byId.set(r.id, r);
  for (const t of r.tags) {
    let list = byTag.get(t);
    if (!list) byTag.set(t, (list = []));
    list.push(r.id);
  }
}
const tags = Object.fromEntries([...byTag].map(([t, ids]) => [t, ids.length]).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
const cheapest = [...records].sort((a, b) => a.price - b.price || a.id - b.id).slice(0, 10).map((r) => r.id);
const summary = { version: doc.version, generated: doc.generated, records: records.length, tags };
const summaryGz = zlib.gzipSync(JSON.stringify(summary), { level: 9 });
const summaryGzSha = crypto.createHash('sha256').update(summaryGz).digest('hex');

mark('index');

const served = new EventEmitter();
let requests = 0;
served.on('request', () => { requests++; });

const server = http.createServer((req, res) => {
  served.emit('request');
  const url = new URL(req.url, 'http://localhost');
  const m = /^\/item\/(\d+)$/.exec(url.pathname);
  const body = { pid: process.pid, records: records.length, digest, tags: byTag.size, cheapest, summaryGz: summaryGzSha, requests };
  if (m) {
    const r = byId.get(Number(m[1]));
    if (!r) { res.writeHead(404).end(); return; }
    body.record = r;
  } else if (url.pathname !== '/') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
server.on('error', (e) => { console.error(util.inspect(e)); process.exit(1); });
server.listen(port, '127.0.0.1', () => { mark('listen'); console.log(`listening ${port}; ms since process start: ${phase.join(', ')}`); });
