// Alertmanager's time intervals: named sets of recurring windows (times of day, weekdays, days of
// the month, months, years, in a location's local time), written in the same YAML shape, so a
// site's maintenance windows read the same here and in its Alertmanager. A route's
// mute_time_intervals hold its notifications while any of them contains the present moment; its
// active_time_intervals let them out only while one does. Semantics as Alertmanager's:
//   - one interval contains a moment when every field it sets contains it (an unset field: any);
//     a named set contains it when any of its intervals does;
//   - times: start_time inclusive, end_time exclusive, "HH:MM" with 24:00 for the end of the day;
//   - weekdays, days_of_month, months, years: inclusive ranges "a:b" or single values; weekdays
//     and months by name (any case), months by number too; days_of_month counts from the end
//     of the month when negative (-1 the last day), clamped to the month's length;
//   - location: an IANA zone name (default UTC; "Local" for the machine's zone).

export interface TimeIntervalConfig {
  times?: Array<{ start_time: string; end_time: string }>;
  weekdays?: string[];
  days_of_month?: string[];
  months?: string[];
  years?: string[];
  location?: string;
}

export interface NamedTimeIntervalConfig {
  name: string;
  time_intervals: TimeIntervalConfig[];
}

interface Range {
  begin: number;
  end: number;
}

/** One interval, compiled: minutes of the day [start, end), and inclusive ranges of the rest. */
export interface TimeInterval {
  times?: Range[];
  weekdays?: Range[];
  daysOfMonth?: Range[];
  months?: Range[];
  years?: Range[];
  /** undefined: UTC. */
  location?: string;
}

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const TIME_RE = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;

export class TimeIntervalError extends Error {}

function minuteOfDay(s: string): number {
  const m = TIME_RE.exec(s);
  if (!m) throw new TimeIntervalError(`"${s}": not a time of day (HH:MM, 00:00 to 24:00)`);
  return m[3] ? 1440 : Number(m[1]) * 60 + Number(m[2]);
}

function parseRange(s: string, member: (x: string) => number): Range {
  const parts = String(s).trim().toLowerCase().split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new TimeIntervalError(`"${s}": not a value or a range a:b`);
  const begin = member(parts[0]);
  return { begin, end: parts.length === 2 ? member(parts[1]) : begin };
}

function integer(what: string) {
  return (x: string): number => {
    if (!/^-?\d+$/.test(x)) throw new TimeIntervalError(`"${x}": not a ${what}`);
    return Number(x);
  };
}

function weekday(x: string): number {
  const i = WEEKDAYS.indexOf(x);
  if (i < 0) throw new TimeIntervalError(`"${x}": not a weekday (sunday ... saturday)`);
  return i;
}

function month(x: string): number {
  const i = MONTHS.indexOf(x);
  if (i >= 0) return i + 1;
  const n = integer('month (january ... december or 1 ... 12)')(x);
  if (n < 1 || n > 12) throw new TimeIntervalError(`"${x}": not a month (1 ... 12)`);
  return n;
}

/** The time zone, checked now: an unknown name is a config error, not a window that never opens. */
function checkLocation(loc: string): string | undefined {
  if (loc === 'UTC') return undefined;
  if (loc === 'Local') return Intl.DateTimeFormat().resolvedOptions().timeZone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: loc });
  } catch {
    throw new TimeIntervalError(`location "${loc}": not a time zone (an IANA name such as Europe/Paris, or UTC, or Local)`);
  }
  return loc;
}

/** Compiles one interval; throws TimeIntervalError naming the field and the bad value. */
export function compileTimeInterval(c: TimeIntervalConfig): TimeInterval {
  const field = <T>(name: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw new TimeIntervalError(`${name}: ${(e as Error).message}`);
    }
  };
  const out: TimeInterval = {};
  if (c.times) {
    out.times = field('times', () =>
      c.times!.map((t) => {
        if (!t.start_time || !t.end_time) throw new TimeIntervalError('both start_time and end_time are required');
        const r = { begin: minuteOfDay(t.start_time), end: minuteOfDay(t.end_time) };
        if (r.begin >= r.end) throw new TimeIntervalError(`start_time ${t.start_time} must be before end_time ${t.end_time} (split a window across midnight in two)`);
        if (r.begin === 1440) throw new TimeIntervalError('start_time 24:00: a window cannot start at the end of the day');
        return r;
      }),
    );
  }
  if (c.weekdays) {
    out.weekdays = field('weekdays', () =>
      c.weekdays!.map((s) => {
        const r = parseRange(s, weekday);
        if (r.begin > r.end) throw new TimeIntervalError(`"${s}": the start day comes after the end day (a week runs sunday to saturday)`);
        return r;
      }),
    );
  }
  if (c.days_of_month) {
    out.daysOfMonth = field('days_of_month', () =>
      c.days_of_month!.map((s) => {
        const r = parseRange(s, integer('day of the month'));
        for (const d of [r.begin, r.end]) if (d === 0 || d < -31 || d > 31) throw new TimeIntervalError(`"${s}": ${d} is not a day of the month (1 ... 31, or -1 ... -31 from the end)`);
        if (r.begin < 0 && r.end > 0) throw new TimeIntervalError(`"${s}": the end day must be negative when the start day is`);
        // With negatives the order depends on the month's length; a 28-day month rules out the always-empty ones.
        const b = r.begin < 0 ? 28 + r.begin : r.begin;
        const e = r.end < 0 ? 28 + r.end : r.end;
        if (b > e) throw new TimeIntervalError(`"${s}": the end day always comes before the start day`);
        return r;
      }),
    );
  }
  if (c.months) {
    out.months = field('months', () =>
      c.months!.map((s) => {
        const r = parseRange(s, month);
        if (r.begin > r.end) throw new TimeIntervalError(`"${s}": the end month comes before the start month`);
        return r;
      }),
    );
  }
  if (c.years) {
    out.years = field('years', () =>
      c.years!.map((s) => {
        const r = parseRange(s, integer('year'));
        if (r.begin < 0 || r.begin > r.end) throw new TimeIntervalError(`"${s}": not a year or a rising range of years`);
        return r;
      }),
    );
  }
  if (c.location !== undefined) out.location = field('location', () => checkLocation(c.location!));
  return out;
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  weekday: number;
  minute: number;
  daysInMonth: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of `ms` in a zone (UTC when undefined). */
export function localTime(ms: number, zone: string | undefined): LocalTime {
  let year: number, month: number, day: number, hour: number, minute: number;
  if (!zone) {
    const d = new Date(ms);
    [year, month, day, hour, minute] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
  } else {
    let f = formatters.get(zone);
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
      formatters.set(zone, f);
    }
    const parts: Record<string, number> = {};
    for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    [year, month, day, hour, minute] = [parts.year, parts.month, parts.day, parts.hour, parts.minute];
  }
  // Weekday and month length from the civil date alone (no zone arithmetic needed).
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return { year, month, day, weekday, minute: hour * 60 + minute, daysInMonth };
}

const within = (v: number, r: Range) => v >= r.begin && v <= r.end;

/** Whether the interval contains the moment `ms` (Alertmanager's ContainsTime). */
export function intervalContains(ti: TimeInterval, ms: number): boolean {
  const t = localTime(ms, ti.location);
  if (ti.times && !ti.times.some((r) => t.minute >= r.begin && t.minute < r.end)) return false;
  if (
    ti.daysOfMonth &&
    !ti.daysOfMonth.some((r) => {
      const begin = r.begin < 0 ? t.daysInMonth + r.begin + 1 : r.begin;
      const end = r.end < 0 ? t.daysInMonth + r.end + 1 : r.end;
      if (begin > t.daysInMonth) return false; // the 31st of a 30-day month never comes
      return t.day >= Math.max(begin, 1) && t.day <= Math.min(end, t.daysInMonth);
    })
  )
    return false;
  if (ti.months && !ti.months.some((r) => within(t.month, r))) return false;
  if (ti.weekdays && !ti.weekdays.some((r) => within(t.weekday, r))) return false;
  if (ti.years && !ti.years.some((r) => within(t.year, r))) return false;
  return true;
}

/** The named sets, compiled; a name given twice or a bad field throws, naming the set. */
export class TimeIntervals {
  private readonly sets = new Map<string, TimeInterval[]>();

  constructor(config: NamedTimeIntervalConfig[] = []) {
    for (const n of config) {
      if (this.sets.has(n.name)) throw new TimeIntervalError(`time interval "${n.name}" is defined twice`);
      this.sets.set(
        n.name,
        n.time_intervals.map((c, i) => {
          try {
            return compileTimeInterval(c);
          } catch (e) {
            throw new TimeIntervalError(`time_intervals "${n.name}" [${i}]: ${(e as Error).message}`);
          }
        }),
      );
    }
  }

  has(name: string): boolean {
    return this.sets.has(name);
  }

  /** Whether the named set contains `ms`; an unknown name contains nothing (the schema refuses it). */
  contains(name: string, ms: number): boolean {
    return (this.sets.get(name) ?? []).some((ti) => intervalContains(ti, ms));
  }

  /** Alertmanager's rule for a route: muted when in any mute interval, or outside every active one (when it has some). */
  muted(route: { muteTimeIntervals: readonly string[]; activeTimeIntervals: readonly string[] }, ms: number): boolean {
    if (route.muteTimeIntervals.some((n) => this.contains(n, ms))) return true;
    return route.activeTimeIntervals.length > 0 && !route.activeTimeIntervals.some((n) => this.contains(n, ms));
  }
}
