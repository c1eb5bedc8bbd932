// What an incident notification says, in words, for every receiver: one title and one body
// structure (lead, facts, sections) that the email, Slack and webhook receivers render in their own
// markup. It leads with the cause, then the consequences known so far; an update says what is new;
// the resolved notice is the end: duration, client-visible outage, the timeline with each step's
// time; a past incident says what happened, from, to, how long and on which nodes.
import { fmtDuration, fmtTime } from '../format';
import type { IncidentNotice, IncidentStep } from './incident';
import type { Notification } from './notification';

/** A notification about an incident (Notification.incident set by the pipeline). */
export type IncidentNotification = Notification & { incident: IncidentNotice };

export function isIncidentNotification(n: Notification): n is IncidentNotification {
  return n.incident !== undefined;
}

/** The client-visible outage lines the pipeline gathered (none when nothing was measured). */
export function outageLines(notice: IncidentNotice): string[] {
  return notice.outage.filter((line) => line.length > 0);
}

/** Identity of a step in a thread's "already told" list: the same alert may fire and resolve again. */
export function stepKey(s: IncidentStep): string {
  return `${s.fingerprint}:${s.status}:${s.at}`;
}

export function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Longest title (an email subject); a Slack header asks for less (150 with its icon). */
export const TITLE_MAX = 200;

const PHASE_TAG: Record<IncidentNotice['phase'], string> = { first: '[FIRING]', update: '[UPDATE]', resolved: '[RESOLVED]', past: '[PAST]' };

/** When it ended: resolvedAt, else the last step (a resolved notice should always carry resolvedAt). */
function endOf(notice: IncidentNotice): number {
  return notice.resolvedAt ?? notice.steps.reduce((m, s) => Math.max(m, s.at), notice.openedAt);
}

/**
 * `[FIRING] keepalived is not running on ka1; Failover of VRID 51 from ka1 to ka2: ...`: the cause,
 * then the first consequence; `[RESOLVED] ... (lasted 1 min 4 s)`. At most `max` characters: the
 * cause is clipped, the tag and the duration stay.
 */
export function incidentTitle(notice: IncidentNotice, max = TITLE_MAX): string {
  const tag = PHASE_TAG[notice.phase];
  const head = [notice.cause, notice.consequences[0]].filter(Boolean).join('; ');
  let suffix = '';
  if (notice.phase === 'resolved' || notice.phase === 'past') {
    const d = fmtDuration(endOf(notice) - notice.openedAt);
    // A past alert's summary usually says how long it lasted already.
    if (!(notice.phase === 'past' && notice.cause.includes(d))) suffix = ` (lasted ${d})`;
  }
  return `${tag} ${clip(head, max - tag.length - 1 - suffix.length)}${suffix}`;
}

export interface IncidentSection {
  heading: string;
  lines: string[];
  /** The lines are timeline steps (time first): receivers may set them in a fixed-width font. */
  timeline?: boolean;
}

export interface IncidentView {
  title: string;
  /** The one sentence to read at 3 a.m. */
  lead: string;
  /** When, how long, which nodes, which incident. */
  facts: string;
  sections: IncidentSection[];
}

/** 10:01:02.100 UTC */
function timeOfDay(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 23)} UTC`;
}

/**
 * `10:01:02.100 UTC (+1.9 s)  Failover fired: Failover of VRID 51 ...`; a resolution whose summary
 * its firing step already said is just `... KeepalivedDown resolved`.
 */
export function stepLine(s: IncidentStep, openedAt: number, all: IncidentStep[] = []): string {
  const head = `${timeOfDay(s.at)} (+${fmtDuration(s.at - openedAt)})  ${s.alertname} ${s.status === 'firing' ? 'fired' : 'resolved'}`;
  const said = s.status === 'resolved' && all.some((f) => f.fingerprint === s.fingerprint && f.status === 'firing' && f.at <= s.at && f.summary === s.summary);
  return said ? head : `${head}: ${s.summary}`;
}

/** Nodes named by the incident's alerts (label `node`, annotation `nodes`), sorted. */
export function incidentNodes(n: Notification): string[] {
  const out = new Set<string>();
  for (const a of n.alerts) {
    if (a.labels.node) out.add(a.labels.node);
    for (const x of (a.annotations.nodes ?? '').split(',')) if (x.trim()) out.add(x.trim());
  }
  return [...out].sort();
}

/**
 * The body of an incident notification. `told`: the steps this receiver's thread has already told
 * (an update lists the others as new); without it an update shows the timeline so far instead.
 */
export function incidentView(n: IncidentNotification, told?: ReadonlySet<string>): IncidentView {
  const inc = n.incident;
  const sections: IncidentSection[] = [];
  const timeline = (heading: string, steps: IncidentStep[]): IncidentSection => ({ heading, lines: steps.map((s) => stepLine(s, inc.openedAt, inc.steps)), timeline: true });
  const consequences = (heading: string) => {
    if (inc.consequences.length) sections.push({ heading, lines: inc.consequences });
  };
  const outage = () => {
    const lines = outageLines(inc);
    if (lines.length) sections.push({ heading: 'Client-visible outage', lines });
  };
  const end = endOf(inc);
  const lasted = fmtDuration(end - inc.openedAt);
  const id = `incident ${inc.id}`;
  let lead: string;
  let facts: string;
  switch (inc.phase) {
    case 'first':
      lead = inc.cause;
      facts = `Since ${fmtTime(inc.openedAt)} · ${id}`;
      consequences('Consequences so far');
      break;
    case 'update': {
      lead = `Update: ${inc.cause}`;
      facts = `Open since ${fmtTime(inc.openedAt)} (${fmtDuration(Math.max(0, n.createdAt - inc.openedAt))}) · ${id}`;
      if (told) {
        const fresh = inc.steps.filter((s) => !told.has(stepKey(s)));
        if (fresh.length) sections.push(timeline('New since the last notice', fresh));
      } else if (inc.steps.length) sections.push(timeline('So far', inc.steps));
      consequences('Consequences so far');
      break;
    }
    case 'resolved':
      lead = `Resolved: ${inc.cause}`;
      facts = `Lasted ${lasted}: from ${fmtTime(inc.openedAt)} to ${fmtTime(end)} · ${id}`;
      outage();
      if (inc.steps.length) sections.push(timeline('Timeline', inc.steps));
      break;
    case 'past': {
      const nodes = incidentNodes(n);
      lead = `Past incident, seen only after it ended: ${inc.cause}`;
      facts = `From ${fmtTime(inc.openedAt)} to ${fmtTime(end)} (${lasted})${nodes.length ? ` · nodes ${nodes.join(', ')}` : ''} · ${id}`;
      outage();
      // One alert's fired/resolved pair says no more than the line above.
      if (new Set(inc.steps.map((s) => s.fingerprint)).size > 1) sections.push(timeline('Timeline', inc.steps));
      break;
    }
  }
  return { title: incidentTitle(inc), lead, facts, sections };
}

/** Plain text: lead, facts, then each section (timeline lines as they are, others as "- " items). */
export function incidentPlainText(v: IncidentView): string {
  const out = [v.lead, v.facts];
  for (const s of v.sections) {
    out.push('', `${s.heading}:`);
    for (const l of s.lines) out.push(s.timeline ? `  ${l}` : `- ${l}`);
  }
  return out.join('\n');
}
