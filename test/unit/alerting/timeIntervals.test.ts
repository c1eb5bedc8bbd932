// Alertmanager's time intervals, as its configuration documents them: an interval contains a moment
// when every field it sets contains it; a named set when any of its intervals does; times are
// [start, end) minutes of the day with 24:00 as the end; weekday, day-of-month, month and year
// ranges are inclusive; negative days count from the end of the month; `location` is an IANA zone.
// Then the routes: mute_time_intervals hold notifications, active_time_intervals let them out only
// inside, and neither is inherited nor allowed on the root.
import { compileTimeInterval, intervalContains, TimeIntervals, type TimeIntervalConfig } from '../../../agent/alerting/timeIntervals';
import { parseConfig } from '../../../agent/config/load';
import { ConfigError } from '../../../agent/config/load';
import type { ReceiverConfig } from '../../../agent/config/schema';
import { FakeClock } from '../../helpers/fakeClock';
import { setupPipeline, webhookCfg } from './helpers';

const at = (iso: string) => Date.parse(iso);
const contains = (c: TimeIntervalConfig, iso: string) => intervalContains(compileTimeInterval(c), at(iso));

describe('one time interval', () => {
  test('times: start inclusive, end exclusive; 24:00 ends the day', () => {
    const c = { times: [{ start_time: '09:00', end_time: '17:00' }] };
    expect(contains(c, '2026-11-25T08:59:59Z')).toBe(false);
    expect(contains(c, '2026-11-25T09:00:00Z')).toBe(true);
    expect(contains(c, '2026-11-25T16:59:59Z')).toBe(true);
    expect(contains(c, '2026-11-25T17:00:00Z')).toBe(false);
    const late = { times: [{ start_time: '22:00', end_time: '24:00' }] };
    expect(contains(late, '2026-11-25T23:59:00Z')).toBe(true);
    expect(contains(late, '2026-11-26T00:00:00Z')).toBe(false);
    // several ranges: any of them
    const two = { times: [{ start_time: '00:00', end_time: '01:00' }, { start_time: '23:00', end_time: '24:00' }] };
    expect(contains(two, '2026-11-25T00:30:00Z')).toBe(true);
    expect(contains(two, '2026-11-25T12:00:00Z')).toBe(false);
  });

  test('weekdays: names in any case, inclusive ranges, sunday is the first day', () => {
    // 2026-11-25 is a Wednesday.
    const c = { weekdays: ['Monday:Wednesday', 'saturday'] };
    expect(contains(c, '2026-11-23T12:00:00Z')).toBe(true); // Monday
    expect(contains(c, '2026-11-25T12:00:00Z')).toBe(true); // Wednesday, end of the range
    expect(contains(c, '2026-11-26T12:00:00Z')).toBe(false); // Thursday
    expect(contains(c, '2026-11-28T12:00:00Z')).toBe(true); // Saturday
    expect(contains(c, '2026-11-29T12:00:00Z')).toBe(false); // Sunday
    expect(() => compileTimeInterval({ weekdays: ['friday:monday'] })).toThrow(/start day comes after the end day/);
    expect(() => compileTimeInterval({ weekdays: ['funday'] })).toThrow(/weekdays: "funday": not a weekday/);
  });

  test('days_of_month: negative days count from the end of the month, clamped to its length', () => {
    const lastWeek = { days_of_month: ['-7:-1'] };
    expect(contains(lastWeek, '2026-11-24T12:00:00Z')).toBe(true); // Nov has 30 days: 24..30
    expect(contains(lastWeek, '2026-11-23T12:00:00Z')).toBe(false);
    expect(contains(lastWeek, '2026-02-22T12:00:00Z')).toBe(true); // Feb 2026 has 28: 22..28
    expect(contains(lastWeek, '2026-02-21T12:00:00Z')).toBe(false);
    // The 31st of a 30-day month never comes; 1:31 still covers the whole month.
    expect(contains({ days_of_month: ['31'] }, '2026-11-30T12:00:00Z')).toBe(false);
    expect(contains({ days_of_month: ['1:31'] }, '2026-11-30T12:00:00Z')).toBe(true);
    expect(contains({ days_of_month: ['1'] }, '2026-12-01T00:00:00Z')).toBe(true);
    expect(() => compileTimeInterval({ days_of_month: ['0'] })).toThrow(/not a day of the month/);
    expect(() => compileTimeInterval({ days_of_month: ['-3:5'] })).toThrow(/must be negative/);
    expect(() => compileTimeInterval({ days_of_month: ['10:5'] })).toThrow(/always comes before/);
  });

  test('months by name or number, years, and every field must hold (AND)', () => {
    const c = { months: ['november:december', '1'], years: ['2026'] };
    expect(contains(c, '2026-11-25T12:00:00Z')).toBe(true);
    expect(contains(c, '2026-01-10T12:00:00Z')).toBe(true);
    expect(contains(c, '2026-06-10T12:00:00Z')).toBe(false);
    expect(contains(c, '2027-11-25T12:00:00Z')).toBe(false);
    const both = { weekdays: ['tuesday'], times: [{ start_time: '02:00', end_time: '04:00' }] };
    expect(contains(both, '2026-11-24T03:00:00Z')).toBe(true); // Tuesday 03:00
    expect(contains(both, '2026-11-25T03:00:00Z')).toBe(false); // Wednesday 03:00
    expect(contains(both, '2026-11-24T05:00:00Z')).toBe(false); // Tuesday 05:00
    expect(() => compileTimeInterval({ months: ['13'] })).toThrow(/not a month/);
    expect(() => compileTimeInterval({ months: ['june:march'] })).toThrow(/end month comes before/);
  });

  test('location: the fields are read in that zone (DST included); default UTC', () => {
    const paris = { times: [{ start_time: '02:00', end_time: '04:00' }], location: 'Europe/Paris' };
    // Winter: Paris is UTC+1, so 02:00-04:00 Paris is 01:00-03:00 UTC.
    expect(contains(paris, '2026-11-24T01:30:00Z')).toBe(true);
    expect(contains(paris, '2026-11-24T03:30:00Z')).toBe(false);
    // Summer: UTC+2, 00:00-02:00 UTC.
    expect(contains(paris, '2026-07-14T00:30:00Z')).toBe(true);
    expect(contains(paris, '2026-07-14T02:30:00Z')).toBe(false);
    // The weekday is the zone's: Monday 23:30 UTC is already Tuesday in Tokyo.
    expect(contains({ weekdays: ['tuesday'], location: 'Asia/Tokyo' }, '2026-11-23T23:30:00Z')).toBe(true);
    expect(contains({ weekdays: ['tuesday'] }, '2026-11-23T23:30:00Z')).toBe(false);
    expect(() => compileTimeInterval({ location: 'Mars/Olympus' })).toThrow(/not a time zone/);
  });

  test('times: bad values are refused, naming the field', () => {
    expect(() => compileTimeInterval({ times: [{ start_time: '17:00', end_time: '09:00' }] })).toThrow(/times: start_time 17:00 must be before end_time 09:00/);
    expect(() => compileTimeInterval({ times: [{ start_time: '9:00', end_time: '10:00' }] })).toThrow(/not a time of day/);
    expect(() => compileTimeInterval({ times: [{ start_time: '24:00', end_time: '24:00' }] })).toThrow();
  });
});

describe('named sets and routes', () => {
  const sets = new TimeIntervals([
    { name: 'nights', time_intervals: [{ times: [{ start_time: '00:00', end_time: '06:00' }] }, { times: [{ start_time: '22:00', end_time: '24:00' }] }] },
    { name: 'office', time_intervals: [{ weekdays: ['monday:friday'], times: [{ start_time: '09:00', end_time: '17:00' }] }] },
  ]);

  test('a set contains a moment when any of its intervals does', () => {
    expect(sets.contains('nights', at('2026-11-25T23:00:00Z'))).toBe(true);
    expect(sets.contains('nights', at('2026-11-25T03:00:00Z'))).toBe(true);
    expect(sets.contains('nights', at('2026-11-25T12:00:00Z'))).toBe(false);
    expect(sets.contains('unknown', at('2026-11-25T12:00:00Z'))).toBe(false);
  });

  test('muted: inside any mute interval, or outside every active interval', () => {
    const r = (mute: string[], active: string[]) => ({ muteTimeIntervals: mute, activeTimeIntervals: active });
    expect(sets.muted(r(['nights'], []), at('2026-11-25T23:00:00Z'))).toBe(true);
    expect(sets.muted(r(['nights'], []), at('2026-11-25T12:00:00Z'))).toBe(false);
    expect(sets.muted(r([], ['office']), at('2026-11-25T12:00:00Z'))).toBe(false); // Wednesday noon
    expect(sets.muted(r([], ['office']), at('2026-11-28T12:00:00Z'))).toBe(true); // Saturday
    expect(sets.muted(r([], []), at('2026-11-28T12:00:00Z'))).toBe(false);
  });

  test('a name defined twice is refused', () => {
    expect(() => new TimeIntervals([{ name: 'a', time_intervals: [{}] }, { name: 'a', time_intervals: [{}] }])).toThrow(/defined twice/);
  });
});

describe('config', () => {
  const cfg = (alerting: string) => parseConfig(`node: ka1\nalerting:\n${alerting}`);
  const problems = (alerting: string) => {
    try {
      cfg(alerting);
    } catch (e) {
      return (e as ConfigError).problems;
    }
    return [];
  };

  test('the YAML shape of Alertmanager is taken as is, numbers included', () => {
    const c = cfg(`  time_intervals:
    - name: maint
      time_intervals:
        - {weekdays: ['saturday', 'sunday'], days_of_month: [1, '-1'], months: [1, 'december'], years: [2026], location: Europe/Paris}
  receivers: [{name: hook, type: webhook, url: "http://127.0.0.1:1/"}]
  route: {receiver: hook, routes: [{receiver: hook, matchers: ['severity="critical"'], mute_time_intervals: [maint]}]}
`);
    expect(c.alerting.time_intervals[0].time_intervals[0].days_of_month).toEqual(['1', '-1']);
    expect(c.alerting.route!.routes[0].mute_time_intervals).toEqual(['maint']);
  });

  test('bad windows, unknown names and intervals on the root route are errors that say where', () => {
    expect(problems(`  time_intervals: [{name: x, time_intervals: [{times: [{start_time: '18:00', end_time: '08:00'}]}]}]\n`)).toEqual([
      'alerting.time_intervals.0.time_intervals.0: times: start_time 18:00 must be before end_time 08:00 (split a window across midnight in two)',
    ]);
    expect(
      problems(`  receivers: [{name: hook, type: webhook, url: "http://127.0.0.1:1/"}]
  route: {receiver: hook, mute_time_intervals: [x], routes: [{receiver: hook, active_time_intervals: [nope]}]}
  time_intervals: [{name: x, time_intervals: [{}]}]
`),
    ).toEqual([
      'alerting.route.mute_time_intervals: not on the root route (as in Alertmanager): put it on a child route',
      'alerting.route.routes.0.active_time_intervals.0: time interval "nope" is not defined in alerting.time_intervals',
    ]);
  });
});

describe('the pipeline holds a muted route\'s notifications and tells them after the window', () => {
  // Tuesdays 02:00-04:00 UTC; the clock starts on Tuesday 2026-11-24 at 01:59.
  const maint = () => new TimeIntervals([{ name: 'maint', time_intervals: [{ weekdays: ['tuesday'], times: [{ start_time: '02:00', end_time: '04:00' }] }] }]);

  test('mute_time_intervals: an incident opened in the window is paged when it ends; the other route pages at once', () => {
    const clock = new FakeClock(at('2026-11-24T01:59:00Z'));
    const p = setupPipeline({
      clock,
      timeIntervals: maint(),
      receivers: [webhookCfg('muted'), webhookCfg('always')],
      route: { receiver: 'always', matchers: [], continue: false, routes: [{ receiver: 'muted', matchers: [], continue: true, mute_time_intervals: ['maint'], routes: [] }, { receiver: 'always', matchers: [], continue: true, routes: [] }] },
    });
    clock.advance(2 * 60_000); // 02:01, in the window
    p.fire({ alertname: 'SplitBrain', vrid: '51', severity: 'critical' });
    clock.advance(0);
    expect(p.summary()).toEqual(['always firing SplitBrain51:firing']);
    clock.advance(60 * 60_000); // 03:01: still held
    expect(p.sent.filter((n) => n.receiver === 'muted')).toHaveLength(0);
    clock.advance(60 * 60_000); // 04:01: the first flush after the window tells it
    expect(p.sent.filter((n) => n.receiver === 'muted').map((n) => n.incident?.phase)).toEqual(['first']);
  });

  test('mute_time_intervals: an incident that ends in the window has its end told after the window (classic groups: nothing in it)', () => {
    const clock = new FakeClock(at('2026-11-24T01:50:00Z'));
    const p = setupPipeline({
      clock,
      timeIntervals: maint(),
      receivers: [webhookCfg('hook')],
      route: { receiver: 'hook', matchers: [], continue: false, routes: [{ receiver: 'hook', matchers: [], continue: false, mute_time_intervals: ['maint'], routes: [] }] },
    });
    p.fire({ alertname: 'NoMaster', vrid: '51', severity: 'critical' });
    clock.advance(0);
    expect(p.sent.map((n) => n.incident?.phase)).toEqual(['first']);
    clock.advance(15 * 60_000); // 02:05, in the window
    p.resolve({ alertname: 'NoMaster', vrid: '51', severity: 'critical' });
    clock.advance(30 * 60_000);
    expect(p.sent.map((n) => n.incident?.phase)).toEqual(['first']);
    clock.advance(2 * 3_600_000); // past 04:00
    expect(p.sent.map((n) => n.incident?.phase)).toEqual(['first', 'resolved']);
  });

  test('active_time_intervals: notifications only inside (Alertmanager groups too)', () => {
    const clock = new FakeClock(at('2026-11-24T01:00:00Z'));
    const p = setupPipeline({
      clock,
      timeIntervals: maint(),
      receivers: [webhookCfg('hook')],
      route: { receiver: 'hook', matchers: [], continue: false, routes: [{ receiver: 'hook', group_by: ['alertname'], matchers: [], continue: false, active_time_intervals: ['maint'], routes: [] }] },
    });
    p.fire({ alertname: 'Flapping', vrid: '51', severity: 'warning' });
    clock.advance(30 * 60_000); // 01:30, outside
    expect(p.sent).toHaveLength(0);
    clock.advance(60 * 60_000); // 02:30, inside
    expect(p.summary()).toEqual(['hook firing Flapping51:firing']);
  });

  test('Alertmanager receivers are never held: alerts not re-sent would expire there', () => {
    const clock = new FakeClock(at('2026-11-24T02:30:00Z'));
    const am = { type: 'alertmanager', name: 'am', urls: ['http://127.0.0.1:1'], resend_interval: 60_000, send_resolved: true, timeout: 1000 } as ReceiverConfig;
    const p = setupPipeline({
      clock,
      timeIntervals: maint(),
      receivers: [am],
      route: { receiver: 'am', matchers: [], continue: false, routes: [{ receiver: 'am', matchers: [], continue: false, mute_time_intervals: ['maint'], routes: [] }] },
    });
    p.fire({ alertname: 'SplitBrain', vrid: '51', severity: 'critical' });
    clock.advance(0);
    expect(p.summary()).toEqual(['am firing SplitBrain51:firing']);
  });
});
