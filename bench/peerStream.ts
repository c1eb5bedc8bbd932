// The peer stream over loopback, in one process (no lab): how long a change on one agent takes to
// reach its peer's directory, over plain HTTP and over TLS (a self-signed certificate, its CA
// given), and how long after the peer agent stops, or falls silent, the peer is down. The goal for
// a change is under 500 ms; a silent peer is down one peer_timeout after its last word.
// Run: npx tsx bench/peerStream.ts [--changes=50] [--timeout-ms=600]
import { execFileSync } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../agent/context';
import { silentLogger } from '../agent/logger';
import { HttpServer, type TlsConfig } from '../agent/http/server';
import { PeerClient } from '../agent/peers/peerClient';
import { PeerDirectory } from '../agent/peers/peerDirectory';
import { encodePeerMessage } from '../agent/peers/peerMessage';
import { PeerServer } from '../agent/peers/peerServer';
import { NodeStore } from '../agent/state/store';
import { waitFor } from '../test/helpers/wait';
import { fmt, opt, runMain, summary, writeResult } from './lib';
import { sleep } from '../test/helpers/wait';

const TOKEN = 'peer-token-0123456789abcdef';
const log = silentLogger();

async function peerAgent(tls?: TlsConfig) {
  const store = new NodeStore('ka2', systemClock);
  store.apply({ kind: 'instance', at: Date.now(), source: 'dbus', key: { iname: 'VI_1', intf: 'eth0', vrid: 51, family: 'IPv4' }, state: 'BACKUP', vips: ['192.0.2.100'] });
  const http = new HttpServer(log);
  const server = new PeerServer({ store, clock: systemClock, log });
  http.setRoutes(server.routes());
  http.setAuth({ peerTokens: [TOKEN], apiTokens: [] });
  await http.listen('127.0.0.1:0', tls);
  await server.start();
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${http.address()!.port}`;
  return { store, url, stop: async () => (await server.stop(), await http.close()) };
}

function follow(url: string, timeoutMs: number, caFile?: string) {
  const directory = new PeerDirectory();
  const client = new PeerClient([{ name: 'ka2', url, token: TOKEN, caFile }], { directory, clock: systemClock, log, timeoutMs });
  return { directory, client };
}

/** ms from each store change on the peer to its arrival in our directory. */
async function changeLatency(changes: number, timeoutMs: number, tls?: TlsConfig & { caFile: string }): Promise<number[]> {
  const peer = await peerAgent(tls);
  const { directory, client } = follow(peer.url, timeoutMs, tls?.caFile);
  await client.start();
  try {
    await waitFor(() => directory.get('ka2')?.up, { what: 'peer up' });
    const lat: number[] = [];
    for (let i = 0; i < changes; i++) {
      const t0 = performance.now();
      peer.store.apply({ kind: 'transition', iname: 'VI_1', state: i % 2 ? 'BACKUP' : 'MASTER', at: Date.now(), source: 'dbus' });
      const rev = peer.store.state.revision;
      // The directory tells every state that arrives: timed without polling.
      await new Promise<void>((resolve) => {
        const check = () => {
          if ((directory.get('ka2')?.state?.revision ?? 0) >= rev) {
            off();
            resolve();
          }
        };
        const off = directory.subscribe(check);
        check();
      });
      lat.push(performance.now() - t0);
      // Past the server's coalescing, so that each change is sent on its own.
      await sleep(60);
    }
    return lat;
  } finally {
    await client.stop();
    await peer.stop();
  }
}

/** ms from the peer agent stopping to the peer down here. */
async function downAfterStop(timeoutMs: number): Promise<number> {
  const peer = await peerAgent();
  const { directory, client } = follow(peer.url, timeoutMs);
  await client.start();
  try {
    await waitFor(() => directory.get('ka2')?.up, { what: 'peer up' });
    const t0 = performance.now();
    await peer.stop();
    await waitFor(() => directory.get('ka2')!.up === false, { what: 'peer down', stepMs: 1 });
    return performance.now() - t0;
  } finally {
    await client.stop();
  }
}

/** ms from a peer's last word (one state, then nothing, no FIN) to the peer down here. */
async function downAfterSilence(timeoutMs: number): Promise<number> {
  const sockets = new Set<Socket>();
  let lastWordAt = 0;
  const server = createServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`event: state\ndata: ${encodePeerMessage(new NodeStore('ka2', systemClock).state, Date.now())}\n\n`);
    lastWordAt = performance.now();
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { directory, client } = follow(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs);
  await client.start();
  try {
    await waitFor(() => directory.get('ka2')?.up, { what: 'peer up' });
    await waitFor(() => directory.get('ka2')!.up === false, { what: 'peer down', timeoutMs: timeoutMs * 5, stepMs: 1 });
    return performance.now() - lastWordAt;
  } finally {
    await client.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

runMain(async () => {
  const changes = opt('changes', 50);
  const timeoutMs = opt('timeout-ms', 600);
  const dir = mkdtempSync(join(tmpdir(), 'kw-bench-tls-'));
  try {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=keepwatch-bench', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    const plain = summary(await changeLatency(changes, timeoutMs));
    const tls = summary(await changeLatency(changes, timeoutMs, { certFile: cert, keyFile: key, caFile: cert }));
    const stopped = await downAfterStop(timeoutMs);
    const silent = await downAfterSilence(timeoutMs);
    console.log(`change -> peer's directory, ${changes} changes: plain p50 ${fmt(plain.p50)} ms, max ${fmt(plain.max)} ms; TLS p50 ${fmt(tls.p50)} ms, max ${fmt(tls.max)} ms (goal < 500 ms)`);
    console.log(`peer agent stopped -> down after ${fmt(stopped)} ms; peer silent -> down ${fmt(silent)} ms after its last word (peer_timeout ${timeoutMs} ms)`);
    writeResult('peerStream', { options: { changes, timeoutMs }, plain, tls, downAfterStopMs: stopped, downAfterSilenceMs: silent });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
