import { flapScore } from '../../../rules/flappingRule';
import { healthyPair } from './harness';

describe('flapScore (Nagios weighted percent state change)', () => {
  const H = 600_000; // 21 states = 20 checks of 30 s
  const now = 100 * H + 15_000; // mid-check
  test('no change is 0%, a change in every check is 100%', () => {
    expect(flapScore([], now, 21, H).percent).toBe(0);
    const every = Array.from({ length: 20 }, (_, i) => now - i * 30_000);
    expect(flapScore(every, now, 21, H).percent).toBeCloseTo(100, 6);
  });

  test('recent changes weigh 1.25, old ones 0.75', () => {
    expect(flapScore([now], now, 21, H).percent).toBeCloseTo((1.25 / 20) * 100, 6);
    expect(flapScore([now - 19 * 30_000], now, 21, H).percent).toBeCloseTo((0.75 / 20) * 100, 6);
  });

  test('many changes within one check count once; changes older than the window not at all', () => {
    expect(flapScore([now, now - 1, now - 2], now, 21, H).changedChecks).toBe(1);
    expect(flapScore([now - 21 * 30_000], now, 21, H).changedChecks).toBe(0);
  });

  test('one failover plus a failback is not flapping; five changes in a row are', () => {
    expect(flapScore([now - 60_000, now], now, 21, H).percent).toBeLessThan(20);
    const five = Array.from({ length: 5 }, (_, i) => now - i * 30_000);
    expect(flapScore(five, now, 21, H).percent).toBeGreaterThan(20);
  });
});

describe('Flapping rule', () => {
  // Checks of 2 s (window 21 over 40 s) so a loop of failovers every 2 s flaps quickly.
  const settings = { flapping: { window: 21, highThreshold: 20, lowThreshold: 5, horizonMs: 40_000 } };

  function loop(c: ReturnType<typeof healthyPair>, n: number): void {
    for (let i = 0; i < n; i++) {
      const [a, b] = i % 2 === 0 ? ['ka1', 'ka2'] : ['ka2', 'ka1'];
      c.transition(a, 'BACKUP', 'VI_1', { priority: 100 });
      c.transition(b, 'MASTER', 'VI_1', { priority: 150 });
      c.advance(2000);
    }
  }

  test('a failover loop gives exactly one Flapping alert; failovers fold into it; it clears below the low threshold', () => {
    const c = healthyPair('ka1', settings);
    loop(c, 12);
    expect(c.events('Flapping', 'firing')).toHaveLength(1);
    expect(c.firing('Flapping')).toHaveLength(1);
    const flap = c.firing('Flapping')[0];
    expect(flap.labels).toEqual({ alertname: 'Flapping', severity: 'warning', vrid: '51', iname: 'VI_1' });
    // Failovers before the score crossed the threshold paged; the rest were folded.
    const failovers = c.events('Failover', 'firing').length;
    expect(failovers).toBeGreaterThan(0);
    expect(failovers).toBeLessThan(6);
    expect(c.state.folded.get('51')).toBeGreaterThan(6);
    // PriorityChanged from the loop is folded too (changes after flapping began).
    expect(c.events('PriorityChanged', 'firing').length).toBeLessThan(4);
    loop(c, 4); // still flapping: no second alert (hysteresis)
    expect(c.events('Flapping', 'firing')).toHaveLength(1);
    c.advance(60_000);
    expect(c.firing('Flapping')).toHaveLength(0);
    expect(c.events('Flapping')).toHaveLength(2);
  });

  test('a normal failover and failback is not flapping', () => {
    const c = healthyPair('ka1', settings);
    c.transition('ka1', 'STOP');
    c.transition('ka2', 'MASTER');
    c.advance(10_000);
    c.transition('ka1', 'BACKUP');
    c.advance(10_000);
    c.transition('ka1', 'MASTER');
    c.transition('ka2', 'BACKUP');
    c.advance(60_000);
    expect(c.events('Flapping')).toEqual([]);
  });

  test('a peer going out of sight and back is not a VIP holder change', () => {
    const c = healthyPair('ka1', settings);
    for (let i = 0; i < 10; i++) {
      c.setPeerUp('ka2', false);
      c.advance(2000);
      c.setPeerUp('ka2', true);
      c.advance(2000);
    }
    expect(c.events('Flapping')).toEqual([]);
  });

  test('the VIP moving between nodes without state transitions counts (holder series)', () => {
    const c = healthyPair('ka1', settings);
    for (let i = 0; i < 10; i++) {
      c.vipsFromState('ka1', { '192.0.2.100': i % 2 === 1 });
      c.advance(2000);
    }
    expect(c.events('Flapping', 'firing')).toHaveLength(1);
  });
});
