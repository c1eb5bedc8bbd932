import { parseRetryAfter } from '../../../agent/alerting/receivers/retryAfter';

test('Retry-After: delay-seconds, or an HTTP date counted from the given now; absent or unreadable: undefined', () => {
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  expect(parseRetryAfter('3', now)).toBe(3000);
  expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
  expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:42 GMT', now)).toBe(42_000);
  expect(parseRetryAfter('Wed, 25 Nov 2026 11:59:00 GMT', now)).toBe(0); // already past: no wait
  expect(parseRetryAfter(null, now)).toBeUndefined();
  expect(parseRetryAfter('soon', now)).toBeUndefined();
});
