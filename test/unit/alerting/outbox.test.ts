import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Outbox, type DropReason, type OutboxMetrics } from '../../../agent/alerting/outbox';
import { nodeJournalFs, type JournalFs } from '../../../agent/alerting/outbox/journal';
import type { NewNotification, Notification } from '../../../agent/alerting/notification';
import { ReceiverError, type Receiver } from '../../../agent/alerting/receivers/receiver';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import { waitFor } from '../../helpers/wait';
import { mkAlert } from './helpers';

class Metrics implements OutboxMetrics {
  sentN: Record<string, number> = {};
  failedN: Record<string, number> = {};
  retriedN: Record<string, number> = {};
  droppedN: Record<string, number> = {};
  writeErrors = 0;
  sent(r: string) {
    this.sentN[r] = (this.sentN[r] ?? 0) + 1;
  }
  failed(r: string) {
    this.failedN[r] = (this.failedN[r] ?? 0) + 1;
  }
  retried(r: string) {
    this.retriedN[r] = (this.retriedN[r] ?? 0) + 1;
  }
  dropped(r: string, reason: DropReason, n = 1) {
    this.droppedN[`${r}/${reason}`] = (this.droppedN[`${r}/${reason}`] ?? 0) + n;
  }
  writeError() {
    this.writeErrors++;
  }
}

/** A receiver in the test's hands: records what it got, fails while told to. */
class TestReceiver implements Receiver {
  readonly type = 'test';
  got: Notification[] = [];
  fail: ReceiverError | undefined;
  onSend?: (n: Notification) => void;
  constructor(readonly name: string) {}
  async send(n: Notification): Promise<void> {
    this.onSend?.(n);
    if (this.fail) throw this.fail;
    this.got.push(n);
  }
}

// Time is the fake clock's: retries, Retry-After, max_age and the disk repair happen only when a
// test moves it. Sends and journal writes are real and asynchronous: waitFor awaits their effects.
let clock: FakeClock;
beforeEach(() => {
  clock = new FakeClock();
});

function note(receiver: string, i: number, status: 'firing' | 'resolved' = 'firing', createdAt = clock.now()): NewNotification {
  const alert = mkAlert({ alertname: 'Test', i: String(i) }, createdAt, status);
  return { receiver, kind: 'group', groupKey: `{}:{i="${i}"}`, groupLabels: { i: String(i) }, status, alerts: [alert], createdAt, triggeredAt: createdAt };
}

/** Moves the clock on in steps until cond holds, giving the sends and writes of each step time to run. */
function advanceUntil(cond: () => boolean, stepMs: number, what: string): Promise<true> {
  return waitFor(
    () => {
      if (cond()) return true;
      clock.advance(stepMs);
      return false;
    },
    { what },
  );
}

const journal = (dir: string) => readFileSync(join(dir, 'journal'), 'utf8');
const tmp = () => mkdtempSync(join(tmpdir(), 'kw-outbox-'));
const opened: Outbox[] = [];
async function mk(dir: string, o: Partial<ConstructorParameters<typeof Outbox>[0]> = {}) {
  const metrics = new Metrics();
  const box = new Outbox({
    dir,
    maxEntries: 1000,
    maxBytes: 10 * 1024 * 1024,
    retry: { initial: 10, max: 40, maxAge: 60_000 },
    clock,
    log: silentLogger(),
    metrics,
    drainMs: 200,
    ...o,
  });
  await box.open();
  opened.push(box);
  return { box, metrics };
}
afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
});

describe('Outbox', () => {
  test('a notification is in the fsynced journal before the receiver sees it, and gone after', async () => {
    const dir = tmp();
    const { box, metrics } = await mk(dir);
    const r = new TestReceiver('hook');
    let inJournalAtSend = false;
    r.onSend = (n) => (inJournalAtSend = journal(dir).includes(n.idempotencyKey));
    box.setReceivers([r]);
    const n = box.enqueue(note('hook', 1));
    expect(n.idempotencyKey).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(() => r.got.length === 1, { what: 'the send' });
    expect(inJournalAtSend).toBe(true);
    expect(metrics.sentN.hook).toBe(1);
    await waitFor(() => journal(dir).includes(`"t":"del","seq":${n.seq}`), { what: 'the del record' });
    expect(box.status()).toEqual([expect.objectContaining({ receiver: 'hook', depth: 0 })]);
  });

  test('per receiver FIFO through retries; a receiver that is down does not delay another', async () => {
    const { box, metrics } = await mk(tmp());
    const down = new TestReceiver('down');
    const up = new TestReceiver('up');
    down.fail = new ReceiverError('down: HTTP 503', true);
    box.setReceivers([down, up]);
    for (let i = 0; i < 5; i++) {
      box.enqueue(note('down', i));
      box.enqueue(note('up', i));
    }
    await waitFor(() => up.got.length === 5, { what: 'the receiver that is up' });
    expect(down.got).toHaveLength(0);
    expect(box.status().find((q) => q.receiver === 'down')).toMatchObject({ depth: 5, lastError: 'down: HTTP 503' });
    await advanceUntil(() => (metrics.retriedN.down ?? 0) >= 3, 40, 'three retries');
    down.fail = undefined;
    await advanceUntil(() => down.got.length === 5, 40, 'the receiver that came back');
    expect(down.got.map((n) => n.groupLabels.i)).toEqual(['0', '1', '2', '3', '4']);
    expect(up.got.map((n) => n.groupLabels.i)).toEqual(['0', '1', '2', '3', '4']);
    expect(metrics.failedN.down).toBe(metrics.retriedN.down);
  });

  test('Retry-After is honoured: the next attempt is exactly that much later', async () => {
    const { box } = await mk(tmp());
    const r = new TestReceiver('slack');
    const times: number[] = [];
    r.onSend = () => {
      times.push(clock.now());
      r.fail = times.length === 1 ? new ReceiverError('slack: HTTP 429', true, 300) : undefined;
    };
    box.setReceivers([r]);
    box.enqueue(note('slack', 1));
    await waitFor(() => box.status()[0].attempts === 1, { what: 'the 429' });
    expect(box.status()[0].nextAttemptAt).toBe(clock.now() + 300);
    clock.advance(299);
    expect(times).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => r.got.length === 1, { what: 'the retry' });
    expect(times[1] - times[0]).toBe(300);
  });

  test('a refusal for good is dropped, counted, and the queue moves on', async () => {
    const { box, metrics } = await mk(tmp());
    const r = new TestReceiver('hook');
    r.onSend = (n) => (r.fail = n.groupLabels.i === '1' ? new ReceiverError('hook: HTTP 400 bad payload', false) : undefined);
    box.setReceivers([r]);
    box.enqueue(note('hook', 1));
    box.enqueue(note('hook', 2));
    await waitFor(() => r.got.length === 1, { what: 'the second notification' });
    expect(r.got[0].groupLabels.i).toBe('2');
    expect(metrics.droppedN['hook/rejected']).toBe(1);
  });

  test('not accepted within max_age: dropped as expired, counted', async () => {
    const { box, metrics } = await mk(tmp(), { retry: { initial: 10, max: 20, maxAge: 150 } });
    const r = new TestReceiver('hook');
    r.fail = new ReceiverError('hook: connection failed: ECONNREFUSED', true);
    box.setReceivers([r]);
    const created = clock.now();
    box.enqueue(note('hook', 1));
    await advanceUntil(() => metrics.droppedN['hook/expired'] === 1, 20, 'the expiry');
    expect(clock.now() - created).toBeGreaterThan(150);
    expect(box.status()[0].depth).toBe(0);
  });

  test('bounded: when full, the oldest resolved goes first, then the oldest; every drop counted', async () => {
    const { box, metrics } = await mk(tmp(), { maxEntries: 3 });
    box.setReceivers([]); // nobody to deliver to yet: everything stays queued
    box.enqueue(note('a', 1));
    box.enqueue(note('a', 2, 'resolved'));
    box.enqueue(note('a', 3));
    box.enqueue(note('a', 4));
    expect(box.pending('a').map((n) => n.groupLabels.i)).toEqual(['1', '3', '4']);
    box.enqueue(note('a', 5));
    expect(box.pending('a').map((n) => n.groupLabels.i)).toEqual(['3', '4', '5']);
    expect(metrics.droppedN['a/overflow']).toBe(2);
  });

  test('bounded in bytes too', async () => {
    const { box, metrics } = await mk(tmp(), { maxBytes: 2048 });
    for (let i = 0; i < 10; i++) box.enqueue(note('a', i));
    expect(box.pending('a').length).toBeLessThan(10);
    expect(metrics.droppedN['a/overflow']).toBe(10 - box.pending('a').length);
  });

  test('a restart re-sends what was pending, same keys, same order, and sequences go on', async () => {
    const dir = tmp();
    const first = await mk(dir);
    first.box.setReceivers([]);
    const ns = [1, 2, 3].map((i) => first.box.enqueue(note('hook', i)));
    await waitFor(() => journal(dir).split('\n').length > 3, { what: 'three adds in the journal' });
    await first.box.close();
    const second = await mk(dir);
    const r = new TestReceiver('hook');
    second.box.setReceivers([r]);
    await waitFor(() => r.got.length === 3, { what: 'the re-sends' });
    expect(r.got.map((n) => n.idempotencyKey)).toEqual(ns.map((n) => n.idempotencyKey));
    expect(second.box.enqueue(note('hook', 4)).seq).toBe(4);
  });

  test('state (the notification log) is journalled after the notifications before it, and survives restarts and compaction', async () => {
    const dir = tmp();
    const a = await mk(dir);
    a.box.setReceivers([]);
    const n = a.box.enqueue(note('hook', 1));
    a.box.putState('nflog:x', { firing: ['f1'], resolved: [], at: 1 });
    a.box.putState('nflog:gone', { firing: [], resolved: [], at: 1 });
    a.box.putState('nflog:gone', undefined);
    await waitFor(() => journal(dir).includes('nflog:gone'), { what: 'the state records' });
    const text = journal(dir);
    expect(text.indexOf(`"seq":${n.seq}`)).toBeLessThan(text.indexOf('nflog:x'));
    await a.box.close();
    for (let i = 0; i < 2; i++) {
      const b = await mk(dir); // open() rewrites (compacts) the journal: the state must survive that too
      expect([...b.box.states()]).toEqual([['nflog:x', { firing: ['f1'], resolved: [], at: 1 }]]);
      await b.box.close();
    }
  });

  test('receivers removed from the config: their pending notifications are dropped, counted', async () => {
    const { box, metrics } = await mk(tmp());
    box.setReceivers([]);
    box.enqueue(note('old', 1));
    box.setReceivers([new TestReceiver('new')]);
    expect(metrics.droppedN['old/receiver_removed']).toBe(1);
  });

  test('a torn last record (crash mid-write) is ignored; a corrupt record inside is counted', async () => {
    const dir = tmp();
    const a = await mk(dir);
    a.box.setReceivers([]);
    a.box.enqueue(note('hook', 1));
    a.box.enqueue(note('hook', 2));
    await a.box.close();
    const lines = readFileSync(join(dir, 'journal'), 'utf8').split('\n');
    lines[1] = lines[1].replace('"Test"', '"Tost"'); // checksum no longer matches
    writeFileSync(join(dir, 'journal'), lines.join('\n'));
    appendFileSync(join(dir, 'journal'), '0badc0de {"t":"add","n":{"seq":9');
    const b = await mk(dir);
    expect(b.box.pending('hook').map((n) => n.groupLabels.i)).toEqual(['2']);
    expect(b.metrics.droppedN['/corrupt']).toBe(1);
  });

  test('disk full: delivery goes on from memory, the error is counted, the journal is rewritten when the disk is back', async () => {
    const dir = tmp();
    let full = false;
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const fs: JournalFs = {
      ...nodeJournalFs,
      async openAppend(p) {
        const f = await nodeJournalFs.openAppend(p);
        return { ...f, write: async (d) => (full ? Promise.reject(enospc()) : f.write(d)) };
      },
      replace: async (p, d) => (full ? Promise.reject(enospc()) : nodeJournalFs.replace(p, d)),
    };
    const { box, metrics } = await mk(dir, { fs });
    const up = new TestReceiver('up');
    const down = new TestReceiver('down');
    down.fail = new ReceiverError('down', true);
    box.setReceivers([up, down]);
    full = true;
    box.enqueue(note('up', 1));
    box.enqueue(note('down', 2));
    await waitFor(() => up.got.length === 1, { what: 'delivery from memory' });
    expect(metrics.writeErrors).toBeGreaterThanOrEqual(1);
    expect(box.memoryOnly).toBe(true);
    box.enqueue(note('up', 3));
    await waitFor(() => up.got.length === 2, { what: 'delivery from memory' });
    expect(journal(dir)).not.toContain('"i":"2"');
    full = false;
    // The first repair is 1 s after the failure.
    clock.advance(999);
    expect(box.memoryOnly).toBe(true);
    clock.advance(1);
    await waitFor(() => !box.memoryOnly, { what: 'the repair' });
    expect(journal(dir)).toContain('"i":"2"');
    down.fail = undefined;
    await advanceUntil(() => down.got.length === 1, 40, 'the receiver that came back');
  });

  test('another live process holding the outbox: this one runs from memory, does not touch the journal', async () => {
    const dir = tmp();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'lock'), `${sleeper.pid}\n`);
      writeFileSync(join(dir, 'journal'), 'theirs\n');
      const { box, metrics } = await mk(dir);
      expect(box.memoryOnly).toBe(true);
      expect(metrics.writeErrors).toBe(1);
      const r = new TestReceiver('hook');
      box.setReceivers([r]);
      box.enqueue(note('hook', 1));
      await waitFor(() => r.got.length === 1, { what: 'delivery from memory' });
      expect(journal(dir)).toBe('theirs\n');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  test('a stale lock (kill -9) is taken over', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'lock'), '999999999\n');
    const { box } = await mk(dir);
    expect(box.memoryOnly).toBe(false);
  });

  test('the journal is compacted as it grows', async () => {
    const dir = tmp();
    const { box } = await mk(dir);
    const r = new TestReceiver('hook');
    box.setReceivers([r]);
    const big = 'x'.repeat(20_000);
    for (let i = 0; i < 120; i++) {
      const n = note('hook', i);
      n.alerts[0].annotations.description = big;
      box.enqueue(n);
    }
    await waitFor(() => r.got.length === 120, { timeoutMs: 15_000, what: 'all 120 sent' });
    await waitFor(() => statSync(join(dir, 'journal')).size < 1024 * 1024, { what: 'the compaction' });
  });
});
