// A raw HTTP server on loopback playing a broken or lying peer agent: the handler writes whatever
// answer the test needs; close() destroys open connections first (streams never end on their own).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RawPeer {
  url: string;
  server: Server;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function rawPeer(handler: (res: ServerResponse) => void): Promise<RawPeer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((_req, res) => {
    connections++;
    handler(res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
