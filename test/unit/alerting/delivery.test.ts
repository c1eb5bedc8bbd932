// One pager per alert: the peers module's delivery policy and the pipeline that consults it, on a
// fake clock. Each simulated agent has its own pipeline, notification log and peer directory;
// they all raise the same alerts (as agents on one cluster view do), and we count the pages.
import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import { createAlertHub } from '../../../agent/alerting/hub';
import { Inhibitor } from '../../../agent/alerting/inhibit';
import { NotificationLog } from '../../../agent/alerting/nflog';
import type { NewNotification, Notification } from '../../../agent/alerting/notification';
import { AlertPipeline } from '../../../agent/alerting/pipeline';
import { buildRouteTree } from '../../../agent/alerting/route';
import { Silences } from '../../../agent/alerting/silences';
import { ClusterDeliveryPolicy } from '../../../agent/peers/deliveryPolicy';
import type { PeerStatus } from '../../../agent/peers/peerDirectory';
import type { NodeState } from '../../../agent/state/types';
import type { ReceiverConfig } from '../../../agent/config/schema';
import { silentLogger } from '../../../agent/logger';
import { FakeClock } from '../../helpers/fakeClock';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PEER_TIMEOUT = 3000;

function peer(name: string, up: boolean, now: number, node = name): PeerStatus {
  return {
    name,
    up,
    since: now,
    lastSeenAt: up ? now : undefined,
    state: up ? ({ node } as NodeState) : undefined,
    connected: up,
    connects: up ? 1 : 0,
    errors: {},
    events: up ? 1 : 0,
    restarts: 0,
  };
}

function alert(labels: Record<string, string>, scope: Alert['scope'], status: Alert['status'] = 'firing', at = 0): Alert {
  return { labels, annotations: { summary: 's', description: 'd' }, fingerprint: fingerprint(labels), status, startsAt: 0, scope, ...(status === 'resolved' ? { endsAt: at } : {}) };
}

const SPLIT = { alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' };
const KA2_DOWN = { alertname: 'KeepalivedDown', severity: 'critical', node: 'ka2' };

describe('ClusterDeliveryPolicy', () => {
  test('the lowest node name among the agents seen pages for the cluster; a node pages for its own alerts', () => {
    const clock = new FakeClock(100_000);
    const peers = [peer('ka2', true, clock.now()), peer('ka3', true, clock.now())];
    const p = new ClusterDeliveryPolicy({ self: 'ka1', directory: { list: () => peers }, clock, peerTimeoutMs: PEER_TIMEOUT, startedAt: 0 });
    expect(p.seen()).toEqual({ names: ['ka1', 'ka2', 'ka3'], pending: [] });
    expect(p.deliverer(alert(SPLIT, 'cluster'))).toBe('ka1');
    expect(p.shouldDeliver(alert(SPLIT, 'cluster'))).toBe(true);
    expect(p.deliverer(alert(KA2_DOWN, 'node'))).toBe('ka2');
    expect(p.shouldDeliver(alert(KA2_DOWN, 'node'))).toBe(false);
    // No scope: the agent's own alert (not raised by every agent): always this one.
    expect(p.deliverer(alert({ alertname: 'Test' }, undefined))).toBe('ka1');

    const p3 = new ClusterDeliveryPolicy({ self: 'ka3', directory: { list: () => [peer('ka1', true, clock.now()), peer('ka2', true, clock.now())] }, clock, peerTimeoutMs: PEER_TIMEOUT, startedAt: 0 });
    expect(p3.shouldDeliver(alert(SPLIT, 'cluster'))).toBe(false);
    // ka2's agent is gone: its node alerts fall to the cluster's deliverer (ka1), not to ka3.
    const p3b = new ClusterDeliveryPolicy({ self: 'ka3', directory: { list: () => [peer('ka1', true, clock.now()), peer('ka2', false, clock.now())] }, clock, peerTimeoutMs: PEER_TIMEOUT, startedAt: 0 });
    expect(p3b.deliverer(alert(KA2_DOWN, 'node'))).toBe('ka1');
    // Both others gone: ka3 pages for everything.
    const p3c = new ClusterDeliveryPolicy({ self: 'ka3', directory: { list: () => [peer('ka1', false, clock.now()), peer('ka2', false, clock.now())] }, clock, peerTimeoutMs: PEER_TIMEOUT, startedAt: 0 });
    expect(p3c.shouldDeliver(alert(SPLIT, 'cluster'))).toBe(true);
    expect(p3c.shouldDeliver(alert(KA2_DOWN, 'node'))).toBe(true);
  });

  test('peers are known by the node name they report, not the configured (or address) name', () => {
    const clock = new FakeClock(100_000);
    const p = new ClusterDeliveryPolicy({ self: 'lb-b', directory: { list: () => [peer('192.0.2.11', true, clock.now(), 'lb-a')] }, clock, peerTimeoutMs: PEER_TIMEOUT, startedAt: 0 });
    expect(p.seen().names).toEqual(['lb-a', 'lb-b']);
    expect(p.shouldDeliver(alert(SPLIT, 'cluster'))).toBe(false);
    expect(p.deliverer(alert({ ...KA2_DOWN, node: 'lb-a' }, 'node'))).toBe('lb-a');
  });

  test('just started: a configured peer not heard from yet may be the deliverer, until peer_timeout', () => {
    const clock = new FakeClock(100_000);
    const peers = [peer('ka1', false, clock.now())];
    const p = new ClusterDeliveryPolicy({ self: 'ka2', directory: { list: () => peers }, clock, peerTimeoutMs: PEER_TIMEOUT, startedAt: clock.now() });
    expect(p.seen()).toEqual({ names: ['ka2'], pending: ['ka1'] });
    expect(p.deliverer(alert(SPLIT, 'cluster'))).toBeUndefined();
    expect(p.shouldDeliver(alert(SPLIT, 'cluster'))).toBe(false);
    // Its own node's alerts are its own at once.
    expect(p.shouldDeliver(alert(KA2_DOWN, 'node'))).toBe(true);
    clock.advance(PEER_TIMEOUT);
    expect(p.seen()).toEqual({ names: ['ka2'], pending: [] });
    expect(p.shouldDeliver(alert(SPLIT, 'cluster'))).toBe(true);
  });
});

// ------------------------------------------------------------------ agents with pipelines

interface SimAgent {
  name: string;
  peers: PeerStatus[];
  hub: ReturnType<typeof createAlertHub>;
  sent: Notification[];
  pipeline: AlertPipeline;
}

function cluster(names: string[], startedAt = -60_000) {
  const clock = new FakeClock(0);
  const dir = mkdtempSync(join(tmpdir(), 'kw-deliv-'));
  const receivers: ReceiverConfig[] = [{ type: 'webhook', name: 'pager', url: 'http://127.0.0.1:1/', headers: {}, send_resolved: true, timeout: 1000 } as ReceiverConfig];
  const agents: SimAgent[] = names.map((name) => {
    const log = silentLogger();
    const hub = createAlertHub();
    const sent: Notification[] = [];
    let seq = 1;
    const peers = names.filter((n) => n !== name).map((n) => peer(n, true, 0));
    const pipeline = new AlertPipeline({
      hub,
      clock,
      log,
      // Alertmanager's grouping (an operator's own group_by): per-alert delivery. Incidents (the
      // default grouping) are told by one agent per incident: pipelineIncidents.test.ts.
      route: buildRouteTree({ receiver: 'pager', group_by: ['alertname', 'vrid'], matchers: [], continue: false, routes: [] }, ['pager']),
      receivers,
      inhibitor: new Inhibitor(undefined),
      silences: new Silences({ file: join(dir, `${name}-silences.json`), clock, log }),
      nflog: new NotificationLog({ clock }),
      outbox: {
        enqueue(n: NewNotification) {
          const full = { ...n, seq, idempotencyKey: `${name}-${seq++}` };
          sent.push(full);
          return full;
        },
        pending: () => [],
      },
      delivery: new ClusterDeliveryPolicy({ self: name, directory: { list: () => peers }, clock, peerTimeoutMs: PEER_TIMEOUT, startedAt }),
    });
    pipeline.start();
    return { name, peers, hub, sent, pipeline };
  });
  const everyone = (a: Alert, who = agents) => who.forEach((x) => x.hub.publish(a));
  /** Pages per agent: "alertname:status". */
  const pages = () => Object.fromEntries(agents.map((a) => [a.name, a.sent.flatMap((n) => n.alerts.map((x) => `${x.labels.alertname}:${x.status}`))]));
  const setPeer = (observer: string, peerName: string, up: boolean) => {
    const a = agents.find((x) => x.name === observer)!;
    const i = a.peers.findIndex((p) => p.name === peerName);
    a.peers[i] = peer(peerName, up, clock.now());
  };
  return { clock, agents, everyone, pages, setPeer, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('pipelines of a cluster: one page per alert', () => {
  test('a pair: the split brain is paged once (by ka1), keepalived down on ka2 once (by ka2); resolves come from who paged', () => {
    const c = cluster(['ka1', 'ka2']);
    c.everyone(alert(SPLIT, 'cluster'));
    c.everyone(alert(KA2_DOWN, 'node'));
    c.clock.advance(0);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing'], ka2: ['KeepalivedDown:firing'] });
    c.clock.advance(60_000);
    c.everyone(alert(SPLIT, 'cluster', 'resolved', c.clock.now()));
    c.everyone(alert(KA2_DOWN, 'node', 'resolved', c.clock.now()));
    c.clock.advance(10_000);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing', 'SplitBrain:resolved'], ka2: ['KeepalivedDown:firing', 'KeepalivedDown:resolved'] });
    // Both agents still hold both alerts as theirs to show: only the paging differs.
    c.cleanup();
  });

  test('three agents: one page; the deliverer dies mid-incident: the next-lowest pages what it has not paged, then the resolve', () => {
    const c = cluster(['ka1', 'ka2', 'ka3']);
    c.everyone(alert(SPLIT, 'cluster'));
    c.clock.advance(0);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing'], ka2: [], ka3: [] });
    // ka1's agent dies; after peer_timeout ka2 and ka3 see it down; ka2 is now the lowest seen.
    c.clock.advance(PEER_TIMEOUT);
    c.setPeer('ka2', 'ka1', false);
    c.setPeer('ka3', 'ka1', false);
    // The next group flush (group_interval 10 s) finds the alert news for ka2's receivers.
    c.clock.advance(10_000);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing'], ka2: ['SplitBrain:firing'], ka3: [] });
    c.clock.advance(30_000);
    expect(c.pages().ka2).toEqual(['SplitBrain:firing']); // not again
    const survivors = c.agents.filter((a) => a.name !== 'ka1');
    c.everyone(alert(SPLIT, 'cluster', 'resolved', c.clock.now()), survivors);
    c.clock.advance(10_000);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing'], ka2: ['SplitBrain:firing', 'SplitBrain:resolved'], ka3: [] });
    c.cleanup();
  });

  test('a full partition: each side sees only itself and pages (it cannot know the other did)', () => {
    const c = cluster(['ka1', 'ka2']);
    c.setPeer('ka1', 'ka2', false);
    c.setPeer('ka2', 'ka1', false);
    c.everyone(alert(SPLIT, 'cluster'));
    c.clock.advance(0);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing'], ka2: ['SplitBrain:firing'] });
    c.cleanup();
  });

  test('the deliverer comes back: it pages the firing alert it had not paged; the one that paged meanwhile stays quiet', () => {
    const c = cluster(['ka1', 'ka2']);
    c.setPeer('ka2', 'ka1', false);
    c.setPeer('ka1', 'ka2', false);
    c.agents[1].hub.publish(alert(SPLIT, 'cluster'));
    c.clock.advance(0);
    expect(c.pages()).toEqual({ ka1: [], ka2: ['SplitBrain:firing'] });
    // ka1's agent (re)joins and raises the same alert: it is the deliverer again.
    c.setPeer('ka2', 'ka1', true);
    c.setPeer('ka1', 'ka2', true);
    c.agents[0].hub.publish(alert(SPLIT, 'cluster'));
    c.clock.advance(10_000);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing'], ka2: ['SplitBrain:firing'] });
    // The resolve reaches the receiver from both that told it "firing": never lost.
    c.everyone(alert(SPLIT, 'cluster', 'resolved', c.clock.now()));
    c.clock.advance(10_000);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing', 'SplitBrain:resolved'], ka2: ['SplitBrain:firing', 'SplitBrain:resolved'] });
    c.cleanup();
  });

  test('agents just started: nobody pages a cluster alert before the peers answered or peer_timeout passed; never twice', () => {
    const c = cluster(['ka1', 'ka2'], 0);
    for (const a of c.agents) a.peers[0] = peer(a.peers[0].name, false, 0);
    c.everyone(alert(SPLIT, 'cluster'));
    c.clock.advance(0);
    expect(c.pages()).toEqual({ ka1: [], ka2: [] });
    c.clock.advance(500); // the streams connect
    c.setPeer('ka1', 'ka2', true);
    c.setPeer('ka2', 'ka1', true);
    c.clock.advance(10_000);
    expect(c.pages()).toEqual({ ka1: ['SplitBrain:firing'], ka2: [] });
    c.cleanup();
  });
});
