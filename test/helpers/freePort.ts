// A TCP port on 127.0.0.1 that was free a moment ago, for a server a test or benchmark starts
// itself (nginx, Alertmanager, an agent's listen address). Plain Node: the benchmarks use it too.
import { createServer, type AddressInfo } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
