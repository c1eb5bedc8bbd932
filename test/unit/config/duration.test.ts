// Durations in Prometheus's grammar: prometheus/common model/time_test.go's cases
// (TestParseDuration, TestParseBadDuration), then what keepwatch's config and CLI add on top.
import { DurationError, formatDuration, parseDuration } from '../../../agent/config/duration';
import { ConfigError, parseConfig } from '../../../agent/config/load';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration: prometheus/common model.ParseDuration', () => {
  // [input, ms, what Prometheus's Duration.String() prints]
  test.each<[string, number, string]>([
    ['0', 0, '0s'],
    ['0w', 0, '0s'],
    ['0s', 0, '0s'],
    ['324ms', 324, '324ms'],
    ['3s', 3 * S, '3s'],
    ['5m', 5 * M, '5m'],
    ['1h', H, '1h'],
    ['4d', 4 * D, '4d'],
    ['4d1h', 4 * D + H, '4d1h'],
    ['14d', 14 * D, '2w'],
    ['3w', 21 * D, '3w'],
    ['3w2d1h', 23 * D + H, '3w2d1h'],
    ['10y', 3650 * D, '10y'],
  ])('%s', (input, ms, printed) => {
    expect(parseDuration(input)).toBe(ms);
    expect(formatDuration(ms)).toBe(printed);
  });

  test.each(['1', '1y1m1d', '-1w', '1.5d'])('rejects %s (TestParseBadDuration)', (input) => {
    expect(() => parseDuration(input)).toThrow(DurationError);
  });

  test.each(['', '1.5h', '1m1h', '1h 30m', '1H', '5 m', 'ms', '1sms', '0.5s'])('rejects %j, as Prometheus does', (input) => {
    expect(() => parseDuration(input)).toThrow(DurationError);
  });

  test('combinations, largest unit first', () => {
    expect(parseDuration('1h30m')).toBe(H + 30 * M);
    expect(parseDuration('1y1w1d1h1m1s1ms')).toBe(365 * D + 7 * D + D + H + M + S + 1);
    expect(parseDuration('500ms')).toBe(500);
  });

  test('the error names the input and the grammar', () => {
    expect(() => parseDuration('1.5h')).toThrow(/not a duration: "1\.5h" \(use units y w d h m s ms, largest first, whole numbers/);
  });
});

describe('config durations use the same grammar', () => {
  test('1h30m, 1w and 0 load', () => {
    const c = parseConfig('node: a\nrules: {no_master_for: 1h30m, flapping: {window: 1w, quiet: 0}}\n');
    expect(c.rules.no_master_for).toBe(H + 30 * M);
    expect(c.rules.flapping.window).toBe(7 * D);
    expect(c.rules.flapping.quiet).toBe(0);
  });

  test('1.5h is refused with the key and why', () => {
    let err: unknown;
    try {
      parseConfig('node: a\nrules: {no_master_for: 1.5h}\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toMatch(/rules\.no_master_for.*not a duration: "1\.5h"/);
  });
});
