// Issue 15, Medium 7: concurrent wrong passwords stalled the event loop, an unknown user skipped
// bcrypt (user enumeration by timing), and every 256 misses emptied the cache of good credentials.
import bcrypt from 'bcryptjs';
import { BasicAuthVerifier, type BasicAuthLimits } from '../../../agent/http/auth';

const HASH = bcrypt.hashSync('s3cret', 4);
const header = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const LIMITS: BasicAuthLimits = { maxConcurrent: 1, maxQueued: 64, maxFailures: 5, failureWindowMs: 60_000, maxCached: 4 };

describe('BasicAuthVerifier', () => {
  let now: number;
  let compare: jest.SpyInstance;
  let inFlight: number;
  let maxInFlight: number;
  beforeEach(() => {
    now = 1_000_000;
    inFlight = 0;
    maxInFlight = 0;
    const real = bcrypt.compare.bind(bcrypt) as (p: string, h: string) => Promise<boolean>;
    compare = jest.spyOn(bcrypt, 'compare').mockImplementation((async (p: string, h: string) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await real(p, h);
      } finally {
        inFlight--;
      }
    }) as never);
  });
  afterEach(() => compare.mockRestore());

  test('an unknown user is compared against a dummy hash of the same cost, like a known one', async () => {
    const v = new BasicAuthVerifier({ prom: HASH }, () => now, LIMITS);
    expect(await v.verify(header('nobody', 'x'), '10.0.0.1')).toBe('denied');
    expect(compare).toHaveBeenCalledTimes(1);
    const dummy = compare.mock.calls[0][1] as string;
    expect(dummy).not.toBe(HASH);
    expect(dummy.slice(0, 7)).toBe(HASH.slice(0, 7)); // $2b$04$: same algorithm and cost
  });

  test('misses never evict good credentials: the good one is not re-verified after many failures', async () => {
    const v = new BasicAuthVerifier({ prom: HASH }, () => now, { ...LIMITS, maxFailures: 1000 });
    expect(await v.verify(header('prom', 's3cret'), '10.0.0.1')).toBe('ok');
    const calls = compare.mock.calls.length;
    for (let i = 0; i < 20; i++) expect(await v.verify(header('prom', `wrong${i}`), `10.0.1.${i}`)).toBe('denied');
    expect(compare.mock.calls.length).toBe(calls + 20);
    expect(await v.verify(header('prom', 's3cret'), '10.0.0.1')).toBe('ok');
    expect(compare.mock.calls.length).toBe(calls + 20); // served from the good cache
  });

  test('failures are rate-limited per client address, without spending bcrypt; others unaffected; the window passes', async () => {
    const v = new BasicAuthVerifier({ prom: HASH }, () => now, LIMITS);
    for (let i = 0; i < 5; i++) expect(await v.verify(header('prom', 'nope'), '10.0.0.9')).toBe('denied');
    const calls = compare.mock.calls.length;
    expect(await v.verify(header('prom', 's3cret'), '10.0.0.9')).toBe('limited');
    expect(compare.mock.calls.length).toBe(calls);
    expect(await v.verify(header('prom', 's3cret'), '10.0.0.10')).toBe('ok');
    now += 60_001;
    expect(await v.verify(header('prom', 's3cret'), '10.0.0.9')).toBe('ok');
  });

  test('24 concurrent wrong passwords: one bcrypt at a time, the rest queued (bounded)', async () => {
    const v = new BasicAuthVerifier({ prom: HASH }, () => now, { ...LIMITS, maxQueued: 16 });
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => v.verify(header('prom', `w${i}`), `10.0.2.${i}`)));
    expect(maxInFlight).toBe(1);
    expect(results.filter((r) => r === 'denied').length).toBeGreaterThanOrEqual(16);
    expect(results.filter((r) => r === 'limited').length).toBeGreaterThan(0);
    expect(results.every((r) => r !== 'ok')).toBe(true);
  });
});
