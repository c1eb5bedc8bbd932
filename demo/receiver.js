#!/usr/bin/env node
// The demo's pager: a webhook receiver (Alertmanager's webhook JSON) that prints each notification
// as one line per alert. Runs in the lab's client namespace, where both agents can reach it.
'use strict';
const http = require('node:http');
const port = Number(process.argv[2] || 9099);
const seen = new Set();
// A group notification repeats every alert of the group; print only what changed per alert.
const lastStatus = new Map();
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end('bad json');
        return;
      }
      const key = req.headers['idempotency-key'] || body.idempotencyKey;
      res.writeHead(200).end('ok');
      if (key && seen.has(key)) return; // at-least-once delivery: drop the duplicate
      if (key) seen.add(key);
      const t = new Date().toISOString().slice(11, 23);
      for (const a of body.alerts || []) {
        const l = a.labels || {};
        const id = a.fingerprint || JSON.stringify(l);
        if (lastStatus.get(id) === a.status) continue;
        lastStatus.set(id, a.status);
        const where = [l.node && `node=${l.node}`, l.vrid && `vrid=${l.vrid}`, l.vip && `vip=${l.vip}`].filter(Boolean).join(' ');
        const status = a.status === 'firing' ? 'FIRING  ' : 'RESOLVED';
        process.stdout.write(`${t} PAGE ${status} ${l.alertname} [${l.severity}] ${where} — ${(a.annotations || {}).summary || ''}\n`);
      }
    });
  })
  .listen(port, '0.0.0.0', () => process.stdout.write(`receiver listening on :${port}\n`));
