// One incident as the pipeline notifies it, phase by phase: ka1's keepalived is stopped; VRID 51
// fails over to ka2 at +0.65 s (the first page leads with the failover), KeepalivedDown joins at
// +5 s and takes the lead (the update), RedundancyLost at +5.7 s, everything is over at +64 s.
// Plus a past split brain found after a partition healed.
import { fingerprint, type Alert } from '../../../agent/alerting/alert';
import { INCIDENT_LABEL, type IncidentNotice, type IncidentStep } from '../../../agent/alerting/incident';
import type { Notification } from '../../../agent/alerting/notification';

export const INC = 'inc-0a1b2c3d4e5f';
export const T0 = Date.UTC(2026, 10, 25, 10, 1, 2, 100);

const FAILOVER = 'Failover of VRID 51 from ka1 to ka2: ka1 sent a priority 0 advert (its keepalived left)';
const KADOWN = 'keepalived is not running on ka1 (stopped)';
const REDUNDANCY = 'No backup can take over VRID 51 from ka2: keepalived is not running on ka1';

function alert(labels: Record<string, string>, summary: string, startsAt: number, endsAt?: number): Alert {
  const l = { ...labels, [INCIDENT_LABEL]: INC };
  return {
    labels: l,
    annotations: { summary, description: 'what to check first' },
    fingerprint: fingerprint(labels),
    status: endsAt === undefined ? 'firing' : 'resolved',
    startsAt,
    ...(endsAt === undefined ? {} : { endsAt }),
  };
}

const failover = (end?: number) => alert({ alertname: 'Failover', severity: 'warning', vrid: '51', node: 'ka2' }, FAILOVER, T0 + 650, end);
const kaDown = (end?: number) => alert({ alertname: 'KeepalivedDown', severity: 'critical', node: 'ka1' }, KADOWN, T0, end);
const redundancy = (end?: number) => alert({ alertname: 'RedundancyLost', severity: 'warning', vrid: '51' }, REDUNDANCY, T0 + 5_700, end);

const step = (a: Alert, status: 'firing' | 'resolved', at: number): IncidentStep => ({ at, fingerprint: a.fingerprint, alertname: a.labels.alertname, status, summary: a.annotations.summary });

const END = T0 + 64_000;

export const OUTAGE = ["clients saw no service for 2.1 s: ka1's keepalived left 10:01:02.100, VIP bound on ka2 +1.9 s, first good request through the VIP +2.1 s"];

function notification(seq: number, alerts: Alert[], incident: IncidentNotice, createdAt: number): Notification {
  return {
    seq,
    idempotencyKey: `key${seq}`.padEnd(32, '0'),
    receiver: 'r',
    kind: 'group',
    groupKey: `{}:{incident="${INC}"}`,
    groupLabels: { [INCIDENT_LABEL]: INC },
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts,
    createdAt,
    triggeredAt: createdAt,
    externalURL: 'http://ka1:9723/',
    incident,
  };
}

/** The first page: only the failover is known. */
export function firstNotice(): Notification {
  return notification(1, [failover()], { id: INC, phase: 'first', cause: FAILOVER, consequences: [], outage: [], openedAt: T0 + 650, steps: [step(failover(), 'firing', T0 + 650)] }, T0 + 650);
}

/** KeepalivedDown and RedundancyLost joined: the cause is now ka1's keepalived. */
export function updateNotice(): Notification {
  const steps = [step(kaDown(), 'firing', T0), step(failover(), 'firing', T0 + 650), step(redundancy(), 'firing', T0 + 5_700)];
  return notification(2, [kaDown(), failover(), redundancy()], { id: INC, phase: 'update', cause: KADOWN, consequences: [FAILOVER, REDUNDANCY], outage: [], openedAt: T0, steps }, T0 + 10_650);
}

export function resolvedNotice(withOutage = true): Notification {
  const steps = [
    step(kaDown(), 'firing', T0),
    step(failover(), 'firing', T0 + 650),
    step(redundancy(), 'firing', T0 + 5_700),
    step(failover(), 'resolved', T0 + 60_650),
    step(kaDown(), 'resolved', T0 + 63_000),
    step(redundancy(), 'resolved', END),
  ];
  const incident: IncidentNotice = { id: INC, phase: 'resolved', cause: KADOWN, consequences: [FAILOVER, REDUNDANCY], outage: withOutage ? OUTAGE : [], openedAt: T0, resolvedAt: END, steps };
  return notification(3, [kaDown(T0 + 63_000), failover(T0 + 60_650), redundancy(END)], incident, END + 100);
}

export const PAST_INC = 'inc-99887766aabb';

/** A split brain that began and ended while the agents could not see each other. */
export function pastNotice(): Notification {
  const start = T0 + 120_000;
  const end = start + 8_400;
  const summary = 'Split brain on VRID 51 lasted from 2026-11-25T10:03:02.100Z to 2026-11-25T10:03:10.500Z (8.4 s): ka1 and ka2 were both MASTER';
  const labels = { alertname: 'SplitBrain', severity: 'critical', vrid: '51', iname: 'VI_1' };
  const a: Alert = {
    labels: { ...labels, [INCIDENT_LABEL]: PAST_INC },
    annotations: { summary, description: 'found after the fact', nodes: 'ka1,ka2' },
    fingerprint: fingerprint(labels),
    status: 'resolved',
    startsAt: start,
    endsAt: end,
    event: true,
  };
  const steps: IncidentStep[] = [
    { at: start, fingerprint: a.fingerprint, alertname: 'SplitBrain', status: 'firing', summary },
    { at: end, fingerprint: a.fingerprint, alertname: 'SplitBrain', status: 'resolved', summary },
  ];
  return {
    ...notification(4, [a], { id: PAST_INC, phase: 'past', cause: summary, consequences: [], outage: [], openedAt: start, resolvedAt: end, steps }, end + 3_000),
    groupKey: `{}:{incident="${PAST_INC}"}`,
    groupLabels: { [INCIDENT_LABEL]: PAST_INC },
  };
}
