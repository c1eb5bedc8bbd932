// The incident book on the fake clock: grouping, the lead, settling and closing, events that do
// not hold an incident open, past incidents, and a restart from the persisted state.
import type { Alert } from '../../../agent/alerting/alert';
import type { Incident } from '../../../agent/alerting/incident';
import { IncidentBook, incidentId, incidentNotice } from '../../../agent/alerting/incidents';
import { FakeClock } from '../../helpers/fakeClock';
import { memoryIncidentStore, mkAlert } from './helpers';

const SETTLE = 10_000;
const KD = { alertname: 'KeepalivedDown', severity: 'critical', node: 'ka1' };
const FO = { alertname: 'Failover', severity: 'warning', vrid: '51', node: 'ka2' };
const FO_BACK = { alertname: 'Failover', severity: 'warning', vrid: '51', node: 'ka1' };
const RL = { alertname: 'RedundancyLost', severity: 'warning', vrid: '51' };
const SB = { alertname: 'SplitBrain', severity: 'critical', vrid: '51' };
const RANK: Record<string, number> = { KeepalivedDown: 10, SplitBrain: 30, Failover: 70, RedundancyLost: 80 };

function setup(o: { store?: ReturnType<typeof memoryIncidentStore>; clock?: FakeClock; confirmMs?: number } = {}) {
  const clock = o.clock ?? new FakeClock();
  const store = o.store ?? memoryIncidentStore();
  const book = new IncidentBook({ clock, settleMs: SETTLE, store, confirmMs: o.confirmMs });
  const ended: Incident[] = [];
  book.onResolved((i) => ended.push(i));
  book.start();
  const live = new Map<string, Alert>();
  const extra = (l: Record<string, string>): Partial<Alert> => ({ rank: RANK[l.alertname], ...(l.alertname === 'Failover' ? { event: true } : {}) });
  const fire = (l: Record<string, string>, startsAt = clock.now()) => {
    const a = mkAlert(l, clock.now(), 'firing', startsAt, extra(l));
    live.set(a.fingerprint, a);
    return book.observe(a);
  };
  const resolve = (l: Record<string, string>) => {
    const f = [...live.values()].find((a) => a.labels === l || JSON.stringify(a.labels) === JSON.stringify(l))!;
    live.delete(f.fingerprint);
    return book.observe({ ...f, status: 'resolved', endsAt: clock.now() });
  };
  const steps = (i: Incident) => i.steps.map((s) => `${s.alertname}:${s.status}@${s.at - t0}`);
  const t0 = clock.now();
  return { clock, store, book, ended, fire, resolve, steps, t0 };
}

describe('IncidentBook', () => {
  test('one open incident: the first firing alert opens it, the others join; the lowest rank leads (ties: earliest)', () => {
    const b = setup();
    b.clock.advance(650);
    const inc = b.fire(FO)!;
    expect(inc.id).toBe(incidentId(inc.alerts[0].fingerprint, b.t0 + 650));
    expect(inc.id).toMatch(/^inc-[0-9a-f]{12}$/);
    expect(inc.cause).toBe(inc.alerts[0].fingerprint);
    b.clock.advance(4350);
    expect(b.fire(KD)!.id).toBe(inc.id);
    b.clock.advance(700);
    expect(b.fire(RL)!.id).toBe(inc.id);
    expect(inc.alerts.find((a) => a.fingerprint === inc.cause)!.labels.alertname).toBe('KeepalivedDown');
    expect(b.book.current()).toBe(inc);
    expect(b.steps(inc)).toEqual(['Failover:firing@650', 'KeepalivedDown:firing@5000', 'RedundancyLost:firing@5700']);
    // same rank: the earliest start leads, whatever the order of arrival
    const c = setup();
    c.fire({ alertname: 'X', n: '2' }, c.t0 + 500);
    const i2 = c.fire({ alertname: 'X', n: '1' }, c.t0 + 100)!;
    expect(i2.alerts.find((a) => a.fingerprint === i2.cause)!.labels.n).toBe('1');
    expect(i2.openedAt).toBe(c.t0 + 100);
  });

  test('resolves when every non-event alert resolved and nothing changed for settle; the Failover held firing does not keep it open', () => {
    const b = setup();
    const inc = b.fire(FO)!;
    b.clock.advance(5000);
    b.fire(KD);
    b.clock.advance(55_000);
    b.resolve(KD);
    b.clock.advance(SETTLE - 1);
    expect(inc.status).toBe('open');
    b.fire(FO_BACK); // the failback: a change, the settle time starts again
    b.clock.advance(SETTLE - 1);
    expect(inc.status).toBe('open');
    b.clock.advance(1);
    expect(inc.status).toBe('resolved');
    expect(b.ended).toEqual([inc]);
    expect(inc.resolvedAt).toBe(b.t0 + 60_000 + SETTLE - 1); // its last step: the failback
    expect(b.book.current()).toBeUndefined();
    expect(b.book.recent()).toEqual([inc]);
    // Later changes of its alerts (the Failovers resolving at event_hold) change nothing.
    b.clock.advance(300_000);
    const n = inc.steps.length;
    expect(b.resolve(FO)).toBe(inc);
    expect(inc.steps).toHaveLength(n);
    expect(b.ended).toHaveLength(1);
    // A new firing alert opens a new incident.
    const next = b.fire(SB)!;
    expect(next.id).not.toBe(inc.id);
    expect(b.book.current()).toBe(next);
    expect(b.clock.pending()).toBe(0); // nothing to settle while SplitBrain fires
  });

  test('a resolve with another start than its firing (a publisher that lost it) still resolves that alert', () => {
    const b = setup();
    const inc = b.fire(KD)!;
    b.clock.advance(1000);
    expect(b.book.observe(mkAlert(KD, b.clock.now(), 'resolved', b.clock.now(), { rank: 10 }))).toBe(inc);
    expect(inc.alerts[0]).toMatchObject({ status: 'resolved', startsAt: b.t0 });
    expect(b.book.observe(mkAlert({ alertname: 'Other' }, b.clock.now(), 'resolved'))).toBeUndefined();
  });

  test('an incident of events only (a Failover) ends settle after its last step', () => {
    const b = setup();
    const inc = b.fire(FO)!;
    b.clock.advance(SETTLE);
    expect(inc.status).toBe('resolved');
    expect(inc.resolvedAt).toBe(b.t0);
  });

  test('a past alert (found after it ended) is an incident of its own, born resolved; found twice it is the same one', () => {
    const b = setup();
    const open = b.fire(RL)!;
    const start = b.t0 - 20_000;
    const past = mkAlert(SB, b.clock.now(), 'firing', start, { rank: 30, event: true, past: true });
    expect(b.book.observe(past)).toBeUndefined(); // the firing half: wait for the end
    const inc = b.book.observe({ ...past, status: 'resolved', endsAt: start + 8400 })!;
    expect(inc).toMatchObject({ status: 'resolved', past: true, openedAt: start, resolvedAt: start + 8400, id: incidentId(past.fingerprint, start) });
    expect(b.steps(inc)).toEqual(['SplitBrain:firing@-20000', 'SplitBrain:resolved@-11600']);
    expect(b.book.current()).toBe(open);
    expect(b.book.pendingPast()).toEqual([inc]);
    expect(b.book.observe({ ...past, status: 'resolved', endsAt: start + 8400 })).toBe(inc);
    b.book.markHandled(inc.id);
    expect(b.book.pendingPast()).toEqual([]);
    expect(b.ended).toEqual([]); // not a resolution the pipeline tells as an end
  });

  test('bounded: the open incident and the last 50 resolved; past alerts remembered beyond that', () => {
    const b = setup();
    const past = mkAlert(SB, b.clock.now(), 'resolved', b.t0 - 9000, { event: true, past: true });
    b.book.markHandled(b.book.observe(past)!.id);
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push(b.fire({ alertname: 'A', n: String(i) })!.id);
      b.resolve({ alertname: 'A', n: String(i) });
      b.clock.advance(SETTLE);
    }
    expect(b.book.recent()).toHaveLength(50);
    expect(b.book.get(ids[0])).toBeUndefined();
    expect(b.book.get(ids[59])).toBeDefined();
    expect([...b.store.map.keys()].filter((k) => k.startsWith('inc:'))).toHaveLength(50);
    expect(b.book.observe(past)).toBeUndefined(); // its incident is gone, but it is not a new one
    expect(b.book.pendingPast()).toEqual([]);
  });

  test('restart from the persisted book: the open incident goes on (same id, no new step); an alert not raised again ends within confirm', () => {
    const store = memoryIncidentStore();
    const clock = new FakeClock();
    const a = setup({ store, clock, confirmMs: 30_000 });
    const inc = a.fire(FO)!;
    clock.advance(5000);
    a.fire(KD);
    a.fire(RL);
    a.book.stop();
    expect(clock.pending()).toBe(0);
    // The agent restarts 2 s later: the engine raises KD again (new start), RL is gone.
    clock.advance(2000);
    const b = setup({ store, clock, confirmMs: 30_000 });
    const cur = b.book.current()!;
    expect(cur.id).toBe(inc.id);
    clock.advance(5000);
    expect(b.fire(KD)!.id).toBe(inc.id);
    expect(a.steps(cur)).toEqual(['Failover:firing@0', 'KeepalivedDown:firing@5000', 'RedundancyLost:firing@5000']);
    clock.advance(25_000); // confirm: RL was not raised again: over
    expect(cur.alerts.find((x) => x.labels.alertname === 'RedundancyLost')!.status).toBe('resolved');
    expect(cur.steps[cur.steps.length - 1].summary).toMatch(/RedundancyLost summary \(not raised again within 30.0 s of the agent's restart: over\)/);
    b.resolve(KD);
    clock.advance(SETTLE);
    expect(b.ended.map((i) => i.id)).toEqual([inc.id]); // the end is not lost
  });

  test('restart with nothing raised again: the incident still ends (confirm, then settle)', () => {
    const store = memoryIncidentStore();
    const clock = new FakeClock();
    const a = setup({ store, clock, confirmMs: 30_000 });
    const inc = a.fire(KD)!;
    const past = mkAlert(SB, clock.now(), 'resolved', a.t0 - 9000, { event: true, past: true });
    a.book.markHandled(a.book.observe(past)!.id);
    a.book.stop();
    const b = setup({ store, clock, confirmMs: 30_000 });
    clock.advance(30_000 + SETTLE);
    expect(b.ended.map((i) => i.id)).toEqual([inc.id]);
    // A past alert handled before the restart is still known (not told again).
    b.book.observe(past);
    expect(b.book.pendingPast()).toEqual([]);
  });

  test('the notice leads with the most causal alert listed, the others after it, the outage lines of its alerts', () => {
    const b = setup();
    const inc = b.fire(FO)!;
    b.fire(KD);
    const fo = inc.alerts.find((a) => a.labels.alertname === 'Failover')!;
    fo.annotations = { ...fo.annotations, outage: 'clients saw no VIP for 0.7 s' };
    const n = incidentNotice(inc, 'update', inc.alerts);
    expect(n).toMatchObject({ id: inc.id, phase: 'update', cause: 'KeepalivedDown summary', consequences: ['Failover summary'], outage: ['clients saw no VIP for 0.7 s'] });
    expect(n.resolvedAt).toBeUndefined();
    // A silenced KeepalivedDown is not listed: the Failover leads.
    expect(incidentNotice(inc, 'first', [fo]).cause).toBe('Failover summary');
  });
});
