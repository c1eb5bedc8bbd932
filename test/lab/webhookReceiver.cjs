// The lab's webhook receiver (the operator's inbox in the tests and benchmarks): every POST is
// appended to a JSON-lines file with its arrival time (Date.now(): namespaces share the host's
// clock) and its Idempotency-Key header, and answered 200 "ok". Plain node:http, no dependencies:
// it runs inside a lab namespace with the bare node binary.
// Usage: node test/lab/webhookReceiver.cjs <host> <port> <file>
'use strict';
const http = require('node:http');
const fs = require('node:fs');
const [host, port, file] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    // Readiness: answered, not recorded (the file holds notifications only).
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = Buffer.concat(chunks).toString('utf8').slice(0, 2000); }
    const key = req.headers['idempotency-key'];
    fs.appendFileSync(file, JSON.stringify({ at, method: req.method, path: req.url, ...(key ? { key } : {}), body }) + '\n');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});
server.listen(Number(port), host, () => process.stdout.write(`listening ${host}:${port}\n`));
