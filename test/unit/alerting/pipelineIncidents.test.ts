// The pipeline with the default grouping (by incident), on the fake clock: what a receiver gets
// per incident (first, at most one update per group_interval, the end with the timeline), past
// incidents told exactly once (found twice, two agents, a restart), who tells an incident when
// two agents see it, and Alertmanager pushes from the delivering agent only.
import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import { createAlertHub } from '../../../agent/alerting/hub';
import { IncidentBook } from '../../../agent/alerting/incidents';
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { NotificationLog } from '../../../agent/alerting/nflog';
import type { NewNotification, Notification } from '../../../agent/alerting/notification';
import { AlertPipeline } from '../../../agent/alerting/pipeline';
import { buildRouteTree } from '../../../agent/alerting/route';
import { Silences } from '../../../agent/alerting/silences';
import { ClusterDeliveryPolicy } from '../../../agent/peers/deliveryPolicy';
import type { PeerStatus } from '../../../agent/peers/peerDirectory';
import type { NodeState } from '../../../agent/state/types';
import type { ReceiverConfig, RouteConfig } from '../../../agent/config/schema';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryIncidentStore, mkAlert, webhookCfg } from './helpers';
import { healthyPair } from '../rules/harness';

// What the engine publishes for the issue's incidents (rank and event as the rules set them).
const KD = { alertname: 'KeepalivedDown', severity: 'critical', node: 'ka1' };
const FO = { alertname: 'Failover', severity: 'warning', vrid: '51', iname: 'VI_1', node: 'ka2' };
const FO_BACK = { alertname: 'Failover', severity: 'warning', vrid: '51', iname: 'VI_1', node: 'ka1' };
const RL = { alertname: 'RedundancyLost', severity: 'warning', vrid: '51', iname: 'VI_1' };
const SB = { alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' };
const VM = { alertname: 'VipMismatch', severity: 'critical', vrid: '51', node: 'ka1', vip: '192.0.2.10' };
const RULE: Record<string, Pick<Alert, 'rank' | 'event' | 'scope'>> = {
  KeepalivedDown: { rank: 10, scope: 'node' },
  SplitBrain: { rank: 30, scope: 'cluster' },
  Failover: { rank: 70, event: true, scope: 'node' },
  VipMismatch: { rank: 75, scope: 'node' },
  RedundancyLost: { rank: 80, scope: 'cluster' },
};
const EVENT_HOLD = 300_000;
const PEER_TIMEOUT = 3000;

function peer(name: string, up: boolean, now: number): PeerStatus {
  return { name, up, since: now, lastSeenAt: up ? now : undefined, state: up ? ({ node: name } as NodeState) : undefined, connected: up, connects: up ? 1 : 0, errors: {}, events: up ? 1 : 0, restarts: 0 };
}

interface AgentOpts {
  name?: string;
  clock: FakeClock;
  route?: RouteConfig;
  receivers?: ReceiverConfig[];
  /** Names of the other agents (a ClusterDeliveryPolicy), none: this agent delivers everything. */
  peers?: string[];
  startedAt?: number;
  dir: string;
}

/** One agent's pipeline whose durable parts (book store, notification log, what was sent) survive restart(). */
function agent(o: AgentOpts) {
  const name = o.name ?? 'ka1';
  const log = silentLogger();
  const receivers = o.receivers ?? [webhookCfg('hook')];
  const route = buildRouteTree(o.route, receivers.map((r) => r.name));
  const store = memoryIncidentStore();
  const nflog = new NotificationLog({ clock: o.clock });
  const peers = (o.peers ?? []).map((n) => peer(n, true, o.clock.now()));
  const delivery = o.peers ? new ClusterDeliveryPolicy({ self: name, directory: { list: () => peers }, clock: o.clock, peerTimeoutMs: PEER_TIMEOUT, startedAt: o.startedAt ?? -60_000 }) : undefined;
  const sent: Notification[] = [];
  let seq = 1;
  const outbox = {
    enqueue(n: NewNotification): Notification {
      const full = { ...n, seq, idempotencyKey: `${name}-${seq++}` };
      sent.push(full);
      return full;
    },
    pending: () => [] as Notification[],
  };
  const silences = new Silences({ file: join(o.dir, `${name}-silences.json`), clock: o.clock, log });
  let hub = createAlertHub();
  let pipeline: AlertPipeline;
  const boot = () => {
    hub = createAlertHub();
    const incidents = new IncidentBook({ clock: o.clock, settleMs: route.groupInterval, store, confirmMs: 20_000 });
    pipeline = new AlertPipeline({ hub, clock: o.clock, log, route, receivers, inhibitor: new Inhibitor(undefined), silences, nflog, outbox, incidents, delivery });
    pipeline.start();
  };
  boot();
  const active = new Map<string, Alert>();
  const fire = (l: Record<string, string>, startsAt = o.clock.now()) => {
    const a = mkAlert(l, o.clock.now(), 'firing', startsAt, RULE[l.alertname] ?? {});
    active.set(a.fingerprint, a);
    hub.publish(a);
  };
  const resolve = (l: Record<string, string>) => {
    const a = active.get(fingerprint(l))!;
    active.delete(a.fingerprint);
    hub.publish({ ...a, status: 'resolved', endsAt: o.clock.now() });
  };
  /** What engine.publishPast does: firing and at once resolved, an event, past. */
  const past = (l: Record<string, string>, startsAt: number, endsAt: number) => {
    const a = mkAlert(l, o.clock.now(), 'firing', startsAt, { ...RULE[l.alertname], event: true, past: true });
    hub.publish(a);
    hub.publish({ ...a, status: 'resolved', endsAt });
  };
  const setPeer = (n: string, up: boolean) => {
    const i = peers.findIndex((p) => p.name === n);
    peers[i] = peer(n, up, o.clock.now());
  };
  return {
    name,
    sent,
    store,
    silences,
    nflog,
    get hub() {
      return hub;
    },
    get pipeline() {
      return pipeline;
    },
    fire,
    resolve,
    past,
    setPeer,
    /** kill + start: the hub and the engine's alerts are gone; the journal (book, nflog, outbox) stays. */
    restart() {
      pipeline.stop();
      active.clear();
      boot();
    },
    /** "phase cause | alert:status,..." per notification. */
    inbox: () => sent.map((n) => `${n.incident?.phase ?? n.kind} ${n.incident?.cause ?? ''} | ${n.alerts.map((a) => `${a.labels.alertname}:${a.status}`).join(',')}`),
  };
}

describe('pipeline: one story per incident (default group_by [incident])', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kw-inc-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("the issue's keepalived SIGTERM: Failover 0.65 s, KeepalivedDown 5 s, RedundancyLost 5.7 s, restart and failback: exactly 3 notifications", () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir });
    const t0 = clock.now();
    const at = (ms: number) => clock.advance(t0 + ms - clock.now());
    at(650);
    a.fire(FO);
    clock.advance(0);
    // First: as soon as the first alert fires (never later than a page per alert was).
    expect(a.inbox()).toEqual(['first Failover summary | Failover:firing']);
    expect(a.sent[0].createdAt - t0).toBe(650);
    at(5000);
    a.fire(KD);
    at(5700);
    a.fire(RL);
    at(10_649);
    expect(a.sent).toHaveLength(1);
    at(10_650); // one group_interval after the first: one update, led by the cause
    expect(a.inbox()[1]).toBe('update KeepalivedDown summary | KeepalivedDown:firing,Failover:firing,RedundancyLost:firing');
    expect(a.sent[1].incident).toMatchObject({ phase: 'update', consequences: ['Failover summary', 'RedundancyLost summary'] });
    expect(a.sent[1].triggeredAt - t0).toBe(5000);
    // The operator restarts keepalived on ka1 at 60 s; ka1 is a backup again, then takes the VIP back.
    at(60_200);
    a.resolve(KD);
    at(61_000);
    a.resolve(RL);
    at(63_500);
    a.fire(FO_BACK);
    at(73_499);
    expect(a.sent).toHaveLength(2); // resolutions and the recovery's failback are not news
    at(73_500); // settle (group_interval) after the last step: the end, with the timeline
    expect(a.sent).toHaveLength(3);
    const end = a.sent[2];
    expect(end.status).toBe('resolved');
    expect(end.alerts.every((x) => x.status === 'resolved')).toBe(true);
    expect(end.incident).toMatchObject({ phase: 'resolved', cause: 'KeepalivedDown summary', openedAt: t0 + 650, resolvedAt: t0 + 63_500 });
    expect(end.incident!.steps.map((s) => `${s.alertname}:${s.status}@${s.at - t0}`)).toEqual([
      'Failover:firing@650',
      'KeepalivedDown:firing@5000',
      'RedundancyLost:firing@5700',
      'KeepalivedDown:resolved@60200',
      'RedundancyLost:resolved@61000',
      'Failover:firing@63500',
    ]);
    // One incident: one id on every notification and every alert.
    const id = a.sent[0].incident!.id;
    for (const n of a.sent) {
      expect(n.groupLabels).toEqual({ incident: id });
      expect(n.incident!.id).toBe(id);
      for (const x of n.alerts) expect(x.labels.incident).toBe(id);
    }
    // The Failovers resolve at event_hold: the incident is over, nothing more.
    at(650 + EVENT_HOLD);
    a.resolve(FO);
    at(63_500 + EVENT_HOLD);
    a.resolve(FO_BACK);
    clock.advance(60_000);
    expect(a.sent).toHaveLength(3);
    expect(clock.pending()).toBe(0); // the incident's group is closed, its timer with it
  });

  test('updates: at most one per group_interval, only for new firing alerts; resolutions alone wait for the end', () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir });
    a.fire(SB);
    clock.advance(0);
    for (const n of ['1', '2', '3']) {
      clock.advance(1000);
      a.fire({ ...RL, vrid: `5${n}` });
    }
    clock.advance(7000); // 10 s after the first: one update with the three
    expect(a.inbox()).toEqual(['first SplitBrain summary | SplitBrain:firing', 'update SplitBrain summary | SplitBrain:firing,RedundancyLost:firing,RedundancyLost:firing,RedundancyLost:firing']);
    clock.advance(2000);
    a.fire(FO); // a failover while the split brain goes on: news, one group_interval after the update
    clock.advance(7999);
    expect(a.sent).toHaveLength(2);
    clock.advance(1);
    expect(a.sent).toHaveLength(3);
    // After a quiet spell a new fact goes at once (the last notification is older than group_interval).
    clock.advance(25_000);
    a.fire({ ...FO, node: 'ka3' });
    clock.advance(0);
    expect(a.sent).toHaveLength(4);
    expect(a.sent[3].incident!.phase).toBe('update');
    clock.advance(1000);
    a.fire({ ...FO, node: 'ka4' });
    clock.advance(8999);
    expect(a.sent).toHaveLength(4);
    clock.advance(1);
    expect(a.sent).toHaveLength(5);
    // Resolutions while it is open: no notification.
    a.resolve({ ...RL, vrid: '51' });
    a.resolve({ ...RL, vrid: '52' });
    clock.advance(60_000);
    expect(a.sent).toHaveLength(5);
    a.resolve({ ...RL, vrid: '53' });
    a.resolve(SB);
    clock.advance(10_000);
    expect(a.inbox()[5]).toMatch(/^resolved SplitBrain summary \| /);
    expect(a.sent).toHaveLength(6);
  });

  test('inhibition at flush: the VipMismatch a split brain explains is not told; left behind once the split brain ended, it is news', () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir });
    a.fire(SB);
    a.fire(VM);
    clock.advance(0);
    expect(a.inbox()).toEqual(['first SplitBrain summary | SplitBrain:firing']);
    clock.advance(3000);
    a.resolve(SB);
    clock.advance(7000);
    // Still led by its cause (now resolved); the mismatch left behind is what is new.
    expect(a.inbox()[1]).toBe('update SplitBrain summary | VipMismatch:firing,SplitBrain:resolved');
    expect(a.sent[1].incident!.consequences).toEqual(['VipMismatch summary']);
  });

  test('an incident whose alerts are all silenced sends nothing, not even its end; send_resolved false: no end', () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir, receivers: [webhookCfg('hook'), webhookCfg('quiet', { send_resolved: false } as Partial<ReceiverConfig>)] });
    // a silence on everything of node ka1
    const id = a.silences.add({ matchers: ['node="ka1"'], endsAt: clock.now() + 3_600_000, createdBy: 't', comment: 'maintenance on ka1' });
    a.fire(KD);
    clock.advance(0);
    a.resolve(KD);
    clock.advance(30_000);
    expect(a.sent).toEqual([]);
    a.silences.expire(id);
    a.fire(SB);
    clock.advance(0);
    a.resolve(SB);
    clock.advance(30_000);
    expect(a.sent.map((n) => `${n.receiver} ${n.incident!.phase}`)).toEqual(['hook first', 'quiet first', 'hook resolved']);
  });

  test('a reload or a restart during an incident: no second page, and the end still comes', () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir });
    a.fire(FO);
    clock.advance(0);
    clock.advance(5000);
    a.fire(KD);
    clock.advance(5000);
    expect(a.sent).toHaveLength(2);
    a.restart();
    // The engine raises what is still true again (new startsAt); the Failover is not raised again.
    clock.advance(5000);
    a.fire(KD);
    clock.advance(30_000);
    expect(a.sent).toHaveLength(2);
    a.resolve(KD);
    clock.advance(10_000);
    expect(a.inbox()[2]).toMatch(/^resolved KeepalivedDown summary/);
    expect(a.sent).toHaveLength(3);
    // Restarted while down: KeepalivedDown resolved meanwhile and is never raised again: the end comes after confirm.
    a.fire(SB);
    clock.advance(0);
    a.restart();
    clock.advance(20_000 + 10_000);
    expect(a.inbox().slice(3)).toEqual(['first SplitBrain summary | SplitBrain:firing', 'resolved SplitBrain summary | SplitBrain:resolved']);
    expect(a.sent[4].incident!.steps[1].summary).toMatch(/not raised again within 20.0 s of the agent's restart/);
  });

  test("operators' own group_by: Alertmanager's groups, no incident notice, the incident label on the alerts", () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir, route: { receiver: 'hook', group_by: ['alertname', 'vrid'], matchers: [], continue: false, routes: [] } });
    a.fire(FO);
    a.fire(KD);
    clock.advance(0);
    expect(a.sent.map((n) => n.groupLabels).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([{ alertname: 'Failover', vrid: '51' }, { alertname: 'KeepalivedDown' }]);
    expect(a.sent.every((n) => n.incident === undefined)).toBe(true);
    const id = a.pipeline.incidents.current()!.id;
    expect(a.sent.flatMap((n) => n.alerts.map((x) => x.labels.incident))).toEqual([id, id]);
  });
});

describe('past incidents: told once across the pair', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kw-past-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a split brain found after the partition healed reaches the receiver as one past notice, found twice or after a restart', () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir });
    const start = clock.now() - 20_000;
    a.past(SB, start, start + 8400);
    expect(a.inbox()).toEqual(['past SplitBrain summary | SplitBrain:resolved']);
    const n = a.sent[0];
    expect(n.status).toBe('resolved');
    expect(n.incident).toMatchObject({ phase: 'past', openedAt: start, resolvedAt: start + 8400 });
    expect(n.incident!.steps.map((s) => s.status)).toEqual(['firing', 'resolved']);
    expect(n.alerts[0].labels.incident).toBe(n.incident!.id);
    a.past(SB, start, start + 8400); // found again
    clock.advance(60_000);
    a.restart();
    a.past(SB, start, start + 8400); // and again after a restart
    clock.advance(60_000);
    expect(a.sent).toHaveLength(1);
  });

  test('a past split brain while an incident is open is its own notice; the open one goes on', () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir });
    a.fire(RL);
    clock.advance(0);
    a.past(SB, clock.now() - 9000, clock.now() - 600);
    clock.advance(30_000);
    expect(a.inbox()).toEqual(['first RedundancyLost summary | RedundancyLost:firing', 'past SplitBrain summary | SplitBrain:resolved']);
    expect(a.sent[1].incident!.id).not.toBe(a.sent[0].incident!.id);
  });

  test('two agents that see each other again: only the one the delivery policy names tells it, once, restarts included', () => {
    const clock = new FakeClock();
    const ka1 = agent({ name: 'ka1', clock, dir, peers: ['ka2'] });
    const ka2 = agent({ name: 'ka2', clock, dir, peers: ['ka1'] });
    const start = clock.now() - 20_000;
    for (const x of [ka1, ka2]) x.past(SB, start, start + 8400);
    for (const x of [ka2, ka1]) x.past(SB, start, start + 8400);
    clock.advance(30_000);
    expect([ka1.sent.length, ka2.sent.length]).toEqual([1, 0]);
    // ka1's agent goes away for good; ka2 restarts, finds it again and now delivers cluster alerts: still nothing.
    ka2.setPeer('ka1', false);
    ka2.restart();
    ka2.past(SB, start, start + 8400);
    clock.advance(30_000);
    expect([ka1.sent.length, ka2.sent.length]).toEqual([1, 0]);
  });

  test('found just after a start, before the peers answered: told once the policy can say who tells it', () => {
    const clock = new FakeClock();
    const ka2 = agent({ name: 'ka2', clock, dir, peers: ['ka1'], startedAt: clock.now() });
    ka2.setPeer('ka1', false);
    ka2.past(SB, clock.now() - 20_000, clock.now() - 11_600);
    clock.advance(1000);
    expect(ka2.sent).toEqual([]);
    clock.advance(PEER_TIMEOUT + 10_000); // ka1 never answered: ka2 is the one
    expect(ka2.inbox()).toEqual(['past SplitBrain summary | SplitBrain:resolved']);
  });

  test("with the operators' own group_by the past split brain is told too (once)", () => {
    const clock = new FakeClock();
    const a = agent({ clock, dir, route: { receiver: 'hook', group_by: ['alertname', 'vrid'], matchers: [], continue: false, routes: [] } });
    // a live split brain earlier, paged and resolved in the same group
    a.fire(SB);
    clock.advance(0);
    a.resolve(SB);
    clock.advance(10_000);
    a.past(SB, clock.now() - 9000, clock.now() - 600);
    a.past(SB, clock.now() - 9000, clock.now() - 600);
    clock.advance(10_000);
    expect(a.sent.map((n) => `${n.status} ${n.incident?.phase ?? '-'} ${JSON.stringify(n.groupLabels)}`)).toEqual([
      'firing - {"alertname":"SplitBrain","vrid":"51"}',
      'resolved - {"alertname":"SplitBrain","vrid":"51"}',
      'resolved past {"alertname":"SplitBrain","vrid":"51"}',
    ]);
  });
});

describe('two agents: one of them tells an incident', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kw-two-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("SIGTERM on ka1's keepalived: ka2 (the Failover's node) tells the whole incident, even once KeepalivedDown on ka1 leads it", () => {
    const clock = new FakeClock();
    const ka1 = agent({ name: 'ka1', clock, dir, peers: ['ka2'] });
    const ka2 = agent({ name: 'ka2', clock, dir, peers: ['ka1'] });
    const both = (f: (x: ReturnType<typeof agent>) => void) => [ka1, ka2].forEach(f);
    clock.advance(650);
    both((x) => x.fire(FO));
    clock.advance(4350);
    both((x) => x.fire(KD));
    clock.advance(700);
    both((x) => x.fire(RL));
    clock.advance(60_000);
    both((x) => x.resolve(KD));
    both((x) => x.resolve(RL));
    clock.advance(30_000);
    expect(ka1.sent).toEqual([]);
    expect(ka2.inbox().map((l) => l.split(' |')[0])).toEqual(['first Failover summary', 'update KeepalivedDown summary', 'resolved KeepalivedDown summary']);
  });

  test('the agent telling an incident dies: the other tells it at its next flush (first, then the end), never both at once', () => {
    const clock = new FakeClock();
    const ka1 = agent({ name: 'ka1', clock, dir, peers: ['ka2'] });
    const ka2 = agent({ name: 'ka2', clock, dir, peers: ['ka1'] });
    for (const x of [ka1, ka2]) x.fire(SB);
    clock.advance(0);
    expect([ka1.inbox(), ka2.inbox()]).toEqual([['first SplitBrain summary | SplitBrain:firing'], []]);
    clock.advance(PEER_TIMEOUT);
    ka2.setPeer('ka1', false);
    clock.advance(10_000);
    expect(ka2.inbox()).toEqual(['first SplitBrain summary | SplitBrain:firing']);
    ka2.resolve(SB);
    clock.advance(10_000);
    expect(ka2.inbox()[1]).toMatch(/^resolved SplitBrain summary/);
    expect(ka1.sent).toHaveLength(1);
  });

  test("Alertmanager: each alert pushed only by the agent the policy names, with that agent's incident label; its resolve from the same agent", () => {
    const clock = new FakeClock();
    const am = { type: 'alertmanager', name: 'am', urls: ['http://127.0.0.1:1'], resend_interval: 60_000, send_resolved: true, timeout: 1000 } as ReceiverConfig;
    const ka1 = agent({ name: 'ka1', clock, dir, peers: ['ka2'], receivers: [am] });
    const ka2 = agent({ name: 'ka2', clock, dir, peers: ['ka1'], receivers: [am] });
    for (const x of [ka1, ka2]) {
      x.fire(FO);
      x.fire(KD);
      x.fire(SB);
    }
    clock.advance(0);
    const pushed = (x: typeof ka1) => x.sent.flatMap((n) => n.alerts.map((a) => `${a.labels.alertname}:${a.status}:${a.labels.incident === x.pipeline.incidents.current()?.id}`));
    expect(pushed(ka1).sort()).toEqual(['KeepalivedDown:firing:true', 'SplitBrain:firing:true']);
    expect(pushed(ka2)).toEqual(['Failover:firing:true']);
    clock.advance(60_000); // resends: the same split
    expect(ka1.sent[1]).toMatchObject({ kind: 'alertmanager-resend' });
    expect(ka1.sent[1].alerts.map((a) => a.labels.alertname).sort()).toEqual(['KeepalivedDown', 'SplitBrain']);
    expect(ka2.sent[1].alerts.map((a) => a.labels.alertname)).toEqual(['Failover']);
    for (const x of [ka1, ka2]) x.resolve(KD);
    clock.advance(0);
    expect(ka1.sent[2]).toMatchObject({ kind: 'alertmanager', alerts: [{ status: 'resolved', labels: { alertname: 'KeepalivedDown' } }] });
    expect(ka2.sent).toHaveLength(2);
  });
});

describe('with the real rules (the engine on a simulated pair, shipped defaults)', () => {
  test("keepalived SIGTERM on the master, restarted a minute later (failback): first, one update led by KeepalivedDown, the end: 3 notifications", () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-real-'));
    const c = healthyPair('ka2');
    const route = buildRouteTree(undefined, ['hook']);
    const sent: Notification[] = [];
    const outbox = { enqueue: (n: NewNotification) => { const f = { ...n, seq: sent.length + 1, idempotencyKey: `k${sent.length}` }; sent.push(f); return f; }, pending: () => [] };
    const log = silentLogger();
    const p = new AlertPipeline({ hub: c.hub, clock: c.clock, log, route, receivers: [webhookCfg('hook')], inhibitor: new Inhibitor(undefined), silences: new Silences({ file: join(dir, 's.json'), clock: c.clock, log }), nflog: new NotificationLog({ clock: c.clock }), outbox, incidents: new IncidentBook({ clock: c.clock, settleMs: route.groupInterval }) });
    p.start();
    const t0 = c.now;
    c.apply('ka1', { kind: 'keepalived', up: false, reason: 'stopped (VrrpStopped)' });
    c.transition('ka1', 'STOP');
    c.advance(650);
    c.transition('ka2', 'MASTER');
    c.advance(60_000);
    c.apply('ka1', { kind: 'keepalived', up: true, pid: 101 });
    c.transition('ka1', 'BACKUP');
    c.advance(3000);
    c.transition('ka1', 'MASTER'); // preemption: 150 > 100
    c.transition('ka2', 'BACKUP');
    c.advance(400_000, 1000); // past event_hold: the Failovers resolve
    expect(sent.map((n) => [Math.round((n.createdAt - t0) / 100) / 10, n.incident!.phase, n.alerts.map((a) => a.labels.alertname).join(',')])).toEqual([
      [0.7, 'first', 'Failover'],
      [10.7, 'update', 'KeepalivedDown,Failover,RedundancyLost'],
      // The end: every alert of the incident, over, the failback (ka2 -> ka1) included.
      [73.7, 'resolved', 'KeepalivedDown,Failover,Failover,RedundancyLost'],
    ]);
    expect(sent[0].incident!.cause).toMatch(/^Failover of VRID 51 from ka1 to ka2: keepalived stopped on ka1/);
    expect(sent[1].incident!.cause).toMatch(/^keepalived is not running on ka1/);
    expect(sent[2].incident!.steps.map((s) => `${s.alertname}:${s.status}`)).toEqual([
      'KeepalivedDown:firing',
      'Failover:firing',
      'RedundancyLost:firing',
      'KeepalivedDown:resolved',
      'RedundancyLost:resolved',
      'Failover:firing',
    ]);
    p.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});
