// The benchmarks' webhook receiver in the lab's client namespace (bench/webhookReceiver.cjs): every
// POST lands in a JSON-lines file with its arrival time, read back here.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../test/lab/lab';
import { waitUntil } from '../test/lab/agents';

export const RECEIVER_PORT = 9099;

/** One notification as the receiver got it. */
export interface Received {
  at: number;
  path: string;
  body: { status?: string; alerts?: Array<{ status: string; labels: Record<string, string>; startsAt?: string }> };
}

/** Starts the receiver on 0.0.0.0:RECEIVER_PORT of the client namespace (192.0.2.50); resolves with its file. */
export async function startReceiver(lab: Lab): Promise<string> {
  const dir = lab.client.dir;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'received.jsonl');
  writeFileSync(file, '');
  lab.client.spawn([process.execPath, join(__dirname, 'webhookReceiver.cjs'), '0.0.0.0', String(RECEIVER_PORT), file]);
  await waitUntil(async () => (await lab.client.exec(['curl', '-sf', '-X', 'POST', '-d', '{}', `http://127.0.0.1:${RECEIVER_PORT}/ping`])).code === 0, 10_000, 100, 'receiver up');
  return file;
}

export function received(file: string): Received[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Received);
}
