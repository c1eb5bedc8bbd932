// What the operator gets (issue 14): the incidents of the issue's table on the real lab, judged at
// a real webhook receiver in the lab's client namespace (test/lab/inbox.ts), with the shipped
// defaults: each agent's config is the lab's wiring (paths, addresses), `peers`, `peer_token` and
// one webhook receiver, nothing else. Each test states the inbox it expects: how many
// notifications, which alerts, the cause they lead with, and when (printed; bounds generous, the
// benchmark measures). A failing assertion prints the whole inbox since the fault.
// Three labs: the pair with its track script (most incidents; before each incident its agents are
// restarted as fresh installs, so no test inherits another's failovers, which flapping counts over
// minutes, or its pages), a fresh one for the flapping loop, one without the track script (nginx
// dying on the VIP holder). Every wait is bounded; about 9 minutes when the incidents behave (a
// test whose notifications lack their incident fails at the first one).
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { startLab, type Lab } from '../lab/lab';
import { restartPeered, sampleSum, shippedDefaults, startPeered, waitUntil, type LabAgent } from '../lab/agents';
import { alertsOf, hasAlert, startInbox, toMs, type AlertJson, type Inbox, type InboxEntry, type InboxIncident } from '../lab/inbox';
import { AlertLog } from '../lab/alertLog';
import { agentKilled, holdFor, keepalivedStopped, nginxFlapping, nginxStopped, partitioned, settled, vrrpFirewalled } from '../lab/scenarios';
import { describeLab } from '../helpers/needs';
import { sleep } from '../helpers/wait';

jest.setTimeout(180_000);

/** After the last notification a test expects, how long it keeps listening for a duplicate. */
const TAIL_MS = 6_000;
/** An incident ends 10 s after its last change; its resolved notice may then wait for group_interval (10 s). */
const RESOLVE_MS = 45_000;
const PHASES = ['first', 'update', 'resolved', 'past'];

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// ---------------------------------------------------------------------------------------------
// what every notification and every incident must be

/** Alertmanager's webhook JSON (v4) carrying its incident: groupLabels {incident: id}, every alert labelled with it. */
function expectWellFormed(entries: InboxEntry[]): void {
  for (const e of entries) {
    expect(e.body.version).toBe('4');
    const inc = e.body.incident;
    expect(inc).toBeDefined();
    expect(inc!.id).toMatch(/^inc-[0-9a-f]{12}$/);
    expect(PHASES).toContain(inc!.phase);
    expect(typeof inc!.cause).toBe('string');
    expect(inc!.cause.length).toBeGreaterThan(0);
    expect(Array.isArray(inc!.consequences)).toBe(true);
    expect(Number.isFinite(toMs(inc!.openedAt))).toBe(true);
    expect(e.body.groupLabels).toEqual({ incident: inc!.id });
    for (const a of alertsOf(e)) expect(a.labels.incident).toBe(inc!.id);
  }
}

/** One agent of the pair pages: no notification twice (same idempotency key, or the same phase of one incident). */
function expectNoDuplicates(entries: InboxEntry[]): void {
  const keys = entries.map((e) => e.key).filter(Boolean);
  expect(keys.length - new Set(keys).size).toBe(0);
  const phases = entries.map((e) => `${e.body.incident?.id} ${e.body.incident?.phase}`);
  const twice = phases.filter((p, i) => phases.indexOf(p) !== i);
  expect(twice).toEqual([]);
}

/** first, at most one update, the end; at most `max` notifications. */
function expectLifecycle(inc: InboxIncident, max: number): void {
  expect(inc.phases[0]).toBe('first');
  expect(inc.phases[inc.phases.length - 1]).toBe('resolved');
  expect(inc.phases.filter((p) => p === 'update').length).toBeLessThanOrEqual(1);
  expect(inc.entries.length).toBeLessThanOrEqual(max);
}

/** Exactly one incident opened since t0 (its every notification), well formed, nothing twice. */
function theIncident(inbox: Inbox, t0: number): InboxIncident {
  const all = inbox.since(t0);
  expectWellFormed(all);
  expectNoDuplicates(all);
  const incs = inbox.incidentsSince(t0);
  expect(incs.map((i) => i.id)).toHaveLength(1);
  return incs[0];
}

const isPhase = (phase: string, id?: string) => (e: InboxEntry) => e.body.incident?.phase === phase && (!id || e.body.incident.id === id);
const alertIn = (e: InboxEntry, name: string, status?: 'firing' | 'resolved'): AlertJson | undefined => alertsOf(e, status).find((a) => a.labels.alertname === name);

/** The first notification since t0 that names `alertname` firing, and the resolved notice of its incident after `endAfter`. */
async function firstAndEnd(inbox: Inbox, t0: number, alertname: string, firstWithinMs: number, endAfter: () => number): Promise<{ first: InboxEntry; end: InboxEntry }> {
  const first = await inbox.waitFor(`a notification with ${alertname} firing`, (e) => hasAlert(e, alertname, 'firing'), t0, firstWithinMs);
  expectWellFormed([first]); // without its incident there is no end to wait for
  const id = first.body.incident?.id;
  const end = await inbox.waitFor(`the resolved notice of ${id ?? 'its incident'}`, isPhase('resolved', id), Math.max(t0, endAfter() - 1_000), RESOLVE_MS);
  await sleep(TAIL_MS);
  return { first, end };
}

/** Rewrites an agent's config (parsed YAML) and reloads it with SIGHUP; resolves once it logged the reload. */
async function reloadWith(agent: LabAgent, edit: (cfg: Record<string, unknown>) => void): Promise<void> {
  const cfg = parse(readFileSync(agent.configFile, 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(agent.configFile, stringify(cfg));
  const before = (readFileSync(agent.logFile, 'utf8').match(/config reloaded/g) ?? []).length;
  agent.proc.kill('SIGHUP');
  await waitUntil(() => (readFileSync(agent.logFile, 'utf8').match(/config reloaded/g) ?? []).length > before, 10_000, 50, `${agent.node.name} reloaded`);
}

// ---------------------------------------------------------------------------------------------

describeLab('incidents at the receiver: the pair with its track script, shipped defaults', () => {
  let lab: Lab;
  let inbox: Inbox;
  let agents: LabAgent[];
  let startedAt: number;

  beforeAll(async () => {
    // The FIFO as README's example wires it: keepalived writes to it before the agents start.
    lab = await startLab({ id: 'i14inc', fifo: true });
    inbox = await startInbox(lab);
    startedAt = Date.now();
    agents = await startPeered(lab, { config: shippedDefaults((n) => inbox.urlFor(n.name)) });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  /** Before each incident: the pair back to normal, agents as freshly installed (no earlier failovers, pages or history). */
  async function normal(): Promise<void> {
    await settled(lab);
    await restartPeered(agents, 'ka1', { wipe: true });
    await sleep(1_000);
  }

  test('agent start: what keepalived wrote to the FIFO before the agent ran is history, never laid over the current state', async () => {
    // Expected: ka1's timeline has no MASTER -> BACKUP (ka1 was MASTER throughout); nothing
    // recorded since the agent's boot says anything but MASTER; the inbox is empty.
    const state = await agents[0].getJson<{ bootAt: number; timeline: Array<{ at: number; iname: string; from: string; to: string; source: string }> }>('/api/v1/state');
    const tl = [...state.timeline].sort((a, b) => a.at - b.at);
    console.log(`ka1's timeline at start (boot ${new Date(state.bootAt).toISOString()}): ${tl.map((t) => `${new Date(t.at).toISOString().slice(11, 23)} ${t.from}->${t.to} (${t.source})`).join(', ')}`);
    expect(tl.filter((t) => t.from === 'MASTER' && t.to === 'BACKUP')).toEqual([]);
    expect(tl.filter((t) => t.at >= state.bootAt && t.to !== 'MASTER')).toEqual([]);
    if (tl.length) expect(tl[tl.length - 1].to).toBe('MASTER');
    expect(inbox.all()).toEqual([]);
  });

  test('a healthy pair for 60 s: nothing reaches the receiver', async () => {
    // Expected inbox: empty, from the agents' start to the end of the minute.
    await sleep(60_000);
    await inbox.explain(startedAt, async () => expect(inbox.all()).toEqual([]));
  });

  test('VRRP firewalled on the backup: one SplitBrain incident, paged within ~1 s of the second MASTER, resolved with what happened', async () => {
    // Expected inbox (2-3 notifications, one incident, one agent):
    //   first    SplitBrain "Split brain on VRID 51: ka1 and ka2 are both MASTER", ~0.5-1 s after ka2 became MASTER
    //   (update) only if an alert it explains joined (a VipMismatch of VRID 51)
    //   resolved SplitBrain "... ka1 and ka2 were both MASTER ...; ka1 is MASTER now", after VRRP passes again
    await normal();
    let times = { t0: Date.now(), secondMasterAt: NaN, healedAt: NaN };
    let first: InboxEntry | undefined;
    await inbox.explain(times.t0, async () => {
      times = await vrrpFirewalled(lab, async () => {
        first = await inbox.waitFor('SplitBrain paged', (e) => hasAlert(e, 'SplitBrain', 'firing'), times.t0, 15_000);
        await sleep(3_000);
      });
      console.log(`VRRP firewalled: second MASTER +${secs(times.secondMasterAt - times.t0)}; SplitBrain at the receiver ${secs(first!.at - times.secondMasterAt)} after it (goal ~1 s)`);
      const { end } = await firstAndEnd(inbox, times.t0, 'SplitBrain', 1_000, () => times.healedAt);
      console.log(`VRRP firewalled: resolved notice ${secs(end.at - times.healedAt)} after healing`);
      const inc = theIncident(inbox, times.t0);
      expectLifecycle(inc, 3);
      expect(inc.alertNames.filter((n) => n !== 'SplitBrain' && n !== 'VipMismatch')).toEqual([]);
      expect(first!.body.incident!.cause).toMatch(/Split brain on VRID 51: ka1 and ka2 are both MASTER/);
      expect(first!.at - times.secondMasterAt).toBeLessThan(5_000);
      const over = alertIn(end, 'SplitBrain', 'resolved');
      expect(over?.annotations.summary).toMatch(/ka1 and ka2 were both MASTER.*; ka1 is MASTER now/);
    });
  });

  test('both agents restarted during a split brain: the page is neither lost nor doubled', async () => {
    // Expected inbox (one incident, same id across the restart): first (SplitBrain, before the
    // restart), at most one update, one resolved notice after healing. Nothing twice.
    await normal();
    let times = { t0: Date.now(), secondMasterAt: NaN, healedAt: NaN };
    await inbox.explain(times.t0, async () => {
      times = await vrrpFirewalled(lab, async () => {
        await inbox.waitFor('SplitBrain paged', (e) => hasAlert(e, 'SplitBrain', 'firing'), times.t0, 15_000);
        await Promise.all(agents.map((a) => a.restart()));
        await sleep(5_000); // peers meet again (peer_timeout 3 s) while the split brain goes on
      });
      await firstAndEnd(inbox, times.t0, 'SplitBrain', 1_000, () => times.healedAt);
      const inc = theIncident(inbox, times.t0);
      expectLifecycle(inc, 3);
      expect(inc.alertNames).toContain('SplitBrain');
    });
  });

  test("master's keepalived stopped (SIGTERM): one incident, Failover first, at most 3 notifications with the end", async () => {
    // Expected inbox (one incident, <= 3 notifications):
    //   first    Failover of VRID 51 from ka1 to ka2, cause "keepalived stopped on ka1", within ~1 s
    //   (update) KeepalivedDown (ka1) and RedundancyLost joined, once (condition_for 5 s, group_interval 10 s)
    //   resolved after keepalived is started again (ka1 preempting back folds into it)
    await normal();
    let times = { t0: Date.now(), takeoverAt: NaN, restoredAt: NaN };
    await inbox.explain(times.t0, async () => {
      times = await keepalivedStopped(lab, 'SIGTERM', holdFor(15_000));
      const { first, end } = await firstAndEnd(inbox, times.t0, 'Failover', 1_000, () => times.restoredAt);
      console.log(`keepalived SIGTERM: takeover +${secs(times.takeoverAt - times.t0)}; first notification +${secs(first.at - times.t0)}; end ${secs(end.at - times.restoredAt)} after the restart`);
      const inc = theIncident(inbox, times.t0);
      expectLifecycle(inc, 3);
      expect(first.body.incident!.phase).toBe('first');
      expect(first.body.incident!.cause).toMatch(/keepalived stopped on ka1/);
      expect(first.at - times.t0).toBeLessThan(5_000);
      expect(inc.alertNames).toEqual(expect.arrayContaining(['Failover', 'KeepalivedDown', 'RedundancyLost']));
      expect(inc.alertNames).not.toContain('SplitBrain');
    });
  });

  test('a reload during an incident (nginx stopped on the master, track script): no page sent again', async () => {
    // Expected inbox (one incident: nginx dying and the failover its track script triggers):
    //   first    NginxDownOnVipHolder on ka1 (its master process gone), within ~3 s of nginx stopping
    //   (update) at most one, with what joined (ka1 in FAULT, the Failover to ka2 with its outage)
    //   resolved after nginx is started again and ka1 took the VIP back
    // Both agents reload a changed receiver config (the alerting module is rebuilt) twice while it is open.
    await normal();
    let times = { t0: Date.now(), takeoverAt: NaN, restoredAt: NaN };
    let reloads = 0;
    const reloadBoth = () => Promise.all(agents.map((a) => reloadWith(a, (cfg) => {
      const alerting = cfg.alerting as { receivers: Array<Record<string, unknown>> };
      alerting.receivers[0].headers = { 'X-Lab-Reload': String(++reloads) };
    })));
    await inbox.explain(times.t0, async () => {
      times = await nginxStopped(lab, 'SIGTERM', async () => {
        await inbox.waitFor('the first notification', (e) => hasAlert(e, 'NginxDownOnVipHolder', 'firing'), times.t0, 15_000);
        await reloadBoth();
        await sleep(5_000);
        await reloadBoth();
        await sleep(3_000);
      });
      const { first, end } = await firstAndEnd(inbox, times.t0, 'NginxDownOnVipHolder', 1_000, () => times.restoredAt);
      console.log(`nginx stopped (track script) + 2 reloads: takeover +${secs(times.takeoverAt - times.t0)}; first notification +${secs(first.at - times.t0)}; end ${secs(end.at - times.restoredAt)} after nginx restarted`);
      const inc = theIncident(inbox, times.t0);
      expectLifecycle(inc, 3);
      expect(first.body.incident!.cause).toMatch(/nginx is down on ka1/);
      expect(first.at - times.t0).toBeLessThan(10_000);
      expect(inc.alertNames).toEqual(expect.arrayContaining(['NginxDownOnVipHolder', 'Failover']));
      expect(inc.alertNames).not.toContain('SplitBrain');
    });
  });

  test("master's keepalived killed (kill -9): KeepalivedDown leads, VipLeftBound with its fix, never SplitBrain", async () => {
    // Expected inbox (one incident, <= 3 notifications):
    //   first    the first alert that fires (Failover to ka2 after ~3.5 s, or KeepalivedDown)
    //   update   KeepalivedDown leads ("keepalived is not running on ka1"); VipLeftBound (critical,
    //            node ka1, description with `ip addr del`), RedundancyLost among the consequences
    //   resolved after keepalived is started again on ka1
    // No SplitBrain in any notification: ka1's keepalived was dead, only its VIP was left bound.
    await normal();
    const logs = agents.map((a) => new AlertLog(a).start()); // every alert either agent raises, paged or not
    let times = { t0: Date.now(), takeoverAt: NaN, restoredAt: NaN };
    try {
      await inbox.explain(times.t0, async () => {
        times = await keepalivedStopped(lab, 'SIGKILL', async () => {
          await inbox.maybe('VipLeftBound paged', (e) => hasAlert(e, 'VipLeftBound', 'firing'), times.t0, 20_000);
          await sleep(2_000);
        });
        const first = await inbox.waitFor('the first notification', () => true, times.t0, 1_000);
        const end = await inbox.waitFor('the resolved notice', isPhase('resolved', first.body.incident?.id), times.restoredAt - 1_000, RESOLVE_MS);
        await sleep(TAIL_MS);
        console.log(`keepalived kill -9: takeover +${secs(times.takeoverAt - times.t0)}; first notification +${secs(first.at - times.t0)}; end ${secs(end.at - times.restoredAt)} after the restart`);
        const all = inbox.since(times.t0);
        expect(all.filter((e) => hasAlert(e, 'SplitBrain'))).toEqual([]);
        expect(logs.flatMap((l) => l.events('SplitBrain').map((x) => `${l.agent.node.name}: ${x.alert.annotations.summary}`))).toEqual([]);
        const inc = theIncident(inbox, times.t0);
        expectLifecycle(inc, 3);
        expect(inc.alertNames).toEqual(expect.arrayContaining(['KeepalivedDown', 'VipLeftBound']));
        const left = all.map((e) => alertIn(e, 'VipLeftBound', 'firing')).find(Boolean)!;
        expect(left.labels).toMatchObject({ node: 'ka1', severity: 'critical' });
        expect(left.annotations.description).toMatch(/ip addr del 192\.0\.2\.100\/24 dev eth0/);
        expect(inc.causes[inc.causes.length - 1]).toMatch(/keepalived is not running on ka1/);
        expect(first.at - times.t0).toBeLessThan(10_000);
        expect(await lab.vipHolders()).toEqual(['ka1']);
      });
    } finally {
      for (const l of logs) l.stop();
    }
  });

  test("master's agent killed, then its keepalived (kill -9): ka2 pages what it sees (two hosts answer for the VIP, ka1 unseen), never 'both MASTER'; the fix it gives ends it", async () => {
    // ka1's agent killed, then ka1's keepalived (SIGKILL: the VIP stays bound on ka1). ka2 takes
    // over and its duplicate-address probe hears ka1's MAC answer for the VIP; nothing tells ka2
    // what runs on ka1. Then the operator does what the page says for a dead keepalived
    // (`ip addr del` on ka1), and ka1's agent and keepalived are started again.
    // Expected inbox (from ka2 only while ka1's agent is dead; one incident, nothing twice):
    //   first    Failover of VRID 51 from ka1 to ka2: "ka1 out of sight: its agent does not answer
    //            (agent stopped, host down or cut off from ka2) ..."
    //   update   SplitBrain "Two hosts answer for VIP 192.0.2.100 (VRID 51): ka2, MASTER, and ka1
    //            (MAC <ka1's>, as ka1's address 192.0.2.11); ka1 out of sight, keepalived's state
    //            there unknown", its fix `ip addr del 192.0.2.100/24 dev eth0`; RedundancyUnverified
    //            (ka1's agent unreachable) may join
    //            The takeover's outage line ends with "the move took ... (ka1 still answered for the
    //            VIP after the takeover ...)": ka1 kept the VIP, no gap is known.
    //   resolved once ka1 is back (the fix ends SplitBrain at ka2's agent at once; the incident
    //            tells it in its end, with "Two hosts no longer answer ...", no "were both MASTER"). No SplitBrain text claims a second
    //            MASTER, no RedundancyLost (nothing says ka1 could not take over), no PeerAgentDown
    //            while ka1's keepalived is dead (nothing proves ka1's agent, not its node, is dead).
    await normal();
    const [ka1] = lab.nodes;
    const link = JSON.parse((await ka1.exec(['ip', '-j', 'link', 'show', 'dev', ka1.intf])).stdout) as Array<{ address: string }>;
    const ka1Mac = link[0].address.toLowerCase();
    const t0 = Date.now();
    let paged: InboxEntry | undefined;
    let fixedAt = NaN;
    let overAt = NaN;
    const log = new AlertLog(agents[1]).start(); // ka2's alerts, paged or not
    try {
      await inbox.explain(t0, async () => {
        await agentKilled(agents[0], async () => {
          await sleep(1_000);
          await keepalivedStopped(lab, 'SIGKILL', async () => {
            paged = await inbox.waitFor('SplitBrain paged by ka2', (e) => hasAlert(e, 'SplitBrain', 'firing'), t0, 30_000);
            expect(await lab.vipHolders()).toEqual(['ka1', 'ka2']);
            // The page's fix for a keepalived that is not running, on ka1.
            const fix = alertIn(paged, 'SplitBrain', 'firing')!.annotations.fix;
            expect(fix).toBe('`ip addr del 192.0.2.100/24 dev eth0`');
            expect((await ka1.exec(fix.replace(/`/g, '').split(' '))).code).toBe(0);
            fixedAt = Date.now();
            expect(await lab.vipHolders()).toEqual(['ka2']);
            overAt = (await log.waitFor('SplitBrain', 'resolved', t0, 15_000)).at;
            await agents[0].restart();
            await sleep(3_000);
          });
        });
        await inbox.waitFor('every incident ended', () => inbox.incidentsSince(t0).every((i) => i.phases[i.phases.length - 1] === 'resolved'), t0, RESOLVE_MS);
        await sleep(TAIL_MS);
        const all = inbox.since(t0);
        console.log(`master's agent then keepalived killed: SplitBrain at the receiver +${secs(paged!.at - t0)}, over at ka2's agent ${secs(overAt - fixedAt)} after \`ip addr del\` on ka1\n${inbox.dump(t0)}`);
        expectWellFormed(all);
        expectNoDuplicates(all);
        for (const inc of inbox.incidentsSince(t0)) expectLifecycle(inc, 4);
        // Until ka1's agent was back, only ka2 paged, and the first incident opened with the takeover.
        const before = all.filter((e) => e.at < fixedAt);
        expect(new Set(before.map((e) => e.path))).toEqual(new Set(['/ka2']));
        expect(alertIn(before[0], 'Failover', 'firing')!.annotations.summary).toBe(
          'Failover of VRID 51 from ka1 to ka2: ka1 out of sight: its agent does not answer (agent stopped, host down or cut off from ka2), so why ka1 stopped being MASTER is not observed',
        );
        const sb = alertIn(paged!, 'SplitBrain', 'firing')!;
        expect(sb.annotations.summary).toBe(`Two hosts answer for VIP 192.0.2.100 (VRID 51): ka2, MASTER, and ka1 (MAC ${ka1Mac}, as ka1's address 192.0.2.11); ka1 out of sight, keepalived's state there unknown`);
        expect(paged!.body.incident!.cause).toBe(sb.annotations.summary);
        expect(sb.annotations.description).toMatch(/Not observed: whether keepalived on ka1 is MASTER too .* or dead .*On ka1: if keepalived is not running there, `ip addr del 192\.0\.2\.100\/24 dev eth0`/);
        const over = all.map((e) => alertIn(e, 'SplitBrain', 'resolved')).find(Boolean)!;
        expect(over.annotations.summary).toMatch(new RegExp(`^Two hosts no longer answer for VIP 192\\.0\\.2\\.100 \\(VRID 51\\): ka2 and ka1 \\(MAC ${ka1Mac}, as ka1's address 192\\.0\\.2\\.11\\) both answered from `));
        // ka1 kept the VIP (and its nginx) through the takeover: the outage line claims no gap.
        const outage = all.flatMap((e) => alertsOf(e).filter((a) => a.labels.alertname === 'Failover' && a.labels.node === 'ka2')).pop()!.annotations.outage;
        expect(outage).toMatch(/^the move took \S+ s: ka1's last advert \(estimated: .*\) at \S+ \(ka1 still answered for the VIP after the takeover \(duplicate-address probe\): clients that reached it may have been served\); /);
        // No page says ka1 was MASTER alongside ka2, or that ka1 could not take over.
        const texts = all.flatMap((e) => alertsOf(e).flatMap((a) => [a.annotations.summary ?? '', a.annotations.description ?? '']));
        expect(texts.filter((t) => /both MASTER|One MASTER remains|Both sides answer/.test(t))).toEqual([]);
        expect(all.filter((e) => hasAlert(e, 'RedundancyLost'))).toEqual([]);
        expect(before.filter((e) => hasAlert(e, 'PeerAgentDown'))).toEqual([]);
        expect(all.filter((e) => alertsOf(e, 'firing').some((a) => a.labels.alertname === 'SplitBrain' && a.startsAt !== sb.startsAt))).toEqual([]);
        expect(await lab.vipHolders()).toEqual(['ka1']);
      });
    } finally {
      log.stop();
    }
  });

  test('total partition of the backup for 8 s: the split brain reaches the receiver once, as a past incident, after healing', async () => {
    // Expected inbox: exactly one notification naming SplitBrain, phase 'past', after healing, saying
    // from when to when, how long (~8 s) and which nodes (ka1 and ka2). What each side paged on its
    // own meanwhile (it cannot see the other: RedundancyLost, a Failover "ka1 out of sight") may
    // arrive too, never a live SplitBrain.
    await normal();
    let times = { t0: Date.now(), secondMasterAt: NaN, healedAt: NaN };
    await inbox.explain(times.t0, async () => {
      times = await partitioned(lab, holdFor(8_000));
      const past = await inbox.waitFor('the past split brain', (e) => hasAlert(e, 'SplitBrain'), times.t0, 30_000);
      await sleep(12_000); // the other agent found it too: it must not page it again
      const sb = inbox.since(times.t0).filter((e) => hasAlert(e, 'SplitBrain'));
      const text = past.body.incident?.cause ?? alertIn(past, 'SplitBrain')?.annotations.summary ?? '';
      console.log(`partition 8 s: ka2 MASTER +${secs(times.secondMasterAt - times.t0)}, healed +${secs(times.healedAt - times.t0)}; past split brain at the receiver ${secs(past.at - times.healedAt)} after healing: "${text}"`);
      expectWellFormed(inbox.since(times.t0));
      expectNoDuplicates(inbox.since(times.t0));
      expect(sb).toHaveLength(1);
      expect(past.body.incident?.phase).toBe('past');
      expect(past.at).toBeGreaterThan(times.healedAt - 500);
      expect(text).toMatch(/from .+ to .+/);
      expect(text).toMatch(/ka1/);
      expect(text).toMatch(/ka2/);
      const dur = Number(alertIn(past, 'SplitBrain')?.annotations.duration_seconds);
      expect(dur).toBeGreaterThan(4);
      expect(dur).toBeLessThan((times.healedAt - times.t0) / 1000 + 3);
    });
    // What the partition left open ends before the next test (bounded; not asserted here).
    await inbox.maybe('every incident of the partition ended', () => inbox.incidentsSince(times.t0).every((i) => ['resolved', 'past'].includes(i.phases[i.phases.length - 1])), times.t0, RESOLVE_MS);
  });

  test("backup's agent killed (its keepalived and nginx healthy): RedundancyUnverified, never RedundancyLost", async () => {
    // Expected inbox (one incident, from ka1's agent): first RedundancyUnverified "ka2's agent is
    // unreachable" (after peer_timeout 3 s + condition_for 5 s), resolved once ka2's agent is back.
    // RedundancyLost never: nothing says ka2 could not take over.
    await normal();
    const t0 = Date.now();
    await inbox.explain(t0, async () => {
      const times = await agentKilled(agents[1], async () => {
        await inbox.waitFor('RedundancyUnverified paged', (e) => hasAlert(e, 'RedundancyUnverified', 'firing'), t0, 25_000);
        await sleep(4_000);
      });
      const { first, end } = await firstAndEnd(inbox, t0, 'RedundancyUnverified', 1_000, () => times.restartedAt);
      console.log(`backup's agent killed: RedundancyUnverified at the receiver +${secs(first.at - t0)}; end ${secs(end.at - times.restartedAt)} after the agent's restart`);
      expect(inbox.since(t0).filter((e) => hasAlert(e, 'RedundancyLost'))).toEqual([]);
      const inc = theIncident(inbox, t0);
      expectLifecycle(inc, 3);
      expect(alertIn(first, 'RedundancyUnverified', 'firing')!.annotations.summary).toMatch(/ka2's agent is unreachable/);
      expect(first.path).toBe('/ka1');
    });
  });

  test("a failover while the new master's agent is down: paged once; restarted, that agent counts the missed transition once", async () => {
    // ka2's agent killed; ka1's keepalived stopped (SIGTERM): ka2 takes over unwatched; 6 s later
    // ka2's agent is started again, then ka1's keepalived.
    // Expected inbox: the takeover by ka2 (Failover, node ka2) told once: in the first notification
    // or the one update of an incident (ka1's agent sees its keepalived stop; ka2's agent, back,
    // finds the takeover in keepalived's history), never again; every incident since the fault
    // with at most one update and its resolved notice; nothing twice. (RedundancyUnverified for
    // ka2's agent may page too, on its own or joined.)
    // keepwatch_vrrp_transitions_total{to="MASTER"} on ka2's restarted agent: 1 (BACKUP -> MASTER while it was down).
    await normal();
    const t0 = Date.now();
    let transitions = NaN;
    const masterOf = async () => sampleSum(await agents[1].metrics(), 'keepwatch_vrrp_transitions_total', { iname: 'VI_1', to: 'MASTER' });
    await inbox.explain(t0, async () => {
      await agentKilled(agents[1], async () => {
        await sleep(1_000);
        await keepalivedStopped(lab, 'SIGTERM', async () => {
          await sleep(6_000);
          await agents[1].restart();
          await waitUntil(async () => (await masterOf()) >= 1, 10_000, 100, "ka2's agent counted the takeover").catch(() => undefined);
          await sleep(2_000);
          transitions = await masterOf();
          await inbox.maybe('the takeover paged', (e) => hasAlert(e, 'Failover', 'firing'), t0, 15_000);
        });
      });
      const restoredAt = Date.now();
      await inbox.maybe('every incident ended', () => inbox.incidentsSince(t0).every((i) => i.phases[i.phases.length - 1] === 'resolved'), restoredAt, RESOLVE_MS);
      await sleep(TAIL_MS);
      const all = inbox.since(t0);
      // Told = in a first notification or an update (a resolved notice lists everything again).
      const told = all.filter((e) => ['first', 'update'].includes(e.body.incident?.phase ?? '') && alertsOf(e, 'firing').some((a) => a.labels.alertname === 'Failover' && a.labels.node === 'ka2'));
      console.log(`failover with ka2's agent down: the takeover told ${told.map((e) => `+${secs(e.at - t0)} by ${e.path} (${e.body.incident?.phase})`).join(', ') || 'never'}; ka2's restarted agent counts ${transitions} transition(s) to MASTER`);
      expectWellFormed(all);
      expectNoDuplicates(all);
      expect(told).toHaveLength(1);
      for (const inc of inbox.incidentsSince(t0)) expectLifecycle(inc, 3);
      expect(transitions).toBe(1);
    });
  });
});

describeLab('incidents at the receiver: flapping (a fresh pair, shipped defaults)', () => {
  let lab: Lab;
  let inbox: Inbox;

  beforeAll(async () => {
    lab = await startLab({ id: 'i14flap', fifo: true });
    inbox = await startInbox(lab);
    await startPeered(lab, { config: shippedDefaults((n) => inbox.urlFor(n.name)) });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('nginx down and up 6 times in 42 s (12 failovers): Flapping paged before the 4th failover, the failovers folded into it', async () => {
    // Expected inbox while the loop runs (at most 4 notifications): the first failover's incident
    // (nginx stopped on ka1, Failover to ka2) at once; Flapping (VRID 51) before the 4th failover,
    // once; then nothing per failover: Failover firing shows up in at most 3 notifications
    // (those before Flapping), never again after it. The shipped flapping settings, untouched.
    const t0 = Date.now();
    await inbox.explain(t0, async () => {
      const { failovers } = await nginxFlapping(lab, 6, 7_000);
      const loopEnd = Date.now();
      await sleep(15_000); // the folded failovers would have paged by now
      const all = inbox.since(t0);
      const flap = all.find((e) => hasAlert(e, 'Flapping', 'firing'));
      const failoverPages = all.filter((e) => hasAlert(e, 'Failover', 'firing'));
      console.log(
        `flapping loop: ${failovers.length} failovers at ${failovers.map((f) => `+${secs(f - t0)}`).join(', ')}; ` +
          `Flapping at the receiver ${flap ? `+${secs(flap.at - t0)} (before failover #${failovers.filter((f) => f < flap.at).length + 1})` : 'never'}; ` +
          `${all.filter((e) => e.at <= loopEnd).length} notification(s) during the loop, ${failoverPages.length} with Failover firing`,
      );
      expect(failovers).toHaveLength(12);
      expectWellFormed(all);
      expectNoDuplicates(all);
      expect(flap).toBeDefined();
      expect(flap!.at).toBeLessThan(failovers[3]);
      expect(alertIn(flap!, 'Flapping', 'firing')!.labels).toMatchObject({ vrid: '51' });
      expect(all.filter((e) => e.at <= loopEnd)).not.toHaveLength(0);
      expect(all.filter((e) => e.at <= loopEnd).length).toBeLessThanOrEqual(4);
      expect(failoverPages.length).toBeLessThanOrEqual(3);
      expect(failoverPages.filter((e) => e.at > flap!.at)).toEqual([]);
      // Flapping paged once: one notification where it first fires.
      const flapStarts = new Set(all.flatMap((e) => alertsOf(e, 'firing').filter((a) => a.labels.alertname === 'Flapping').map((a) => a.startsAt)));
      expect(flapStarts.size).toBe(1);
    });
  });
});

describeLab('incidents at the receiver: nginx dying on the VIP holder (no track script, shipped defaults)', () => {
  let lab: Lab;
  let inbox: Inbox;

  beforeAll(async () => {
    lab = await startLab({ id: 'i14ngx', fifo: true, trackScript: false });
    inbox = await startInbox(lab);
    await startPeered(lab, { config: shippedDefaults((n) => inbox.urlFor(n.name)) });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  test('nginx killed on ka1 (keepalived keeps the VIP there): NginxDownOnVipHolder paged within seconds, one incident', async () => {
    // Expected inbox (one incident, 2-3 notifications):
    //   first    NginxDownOnVipHolder (node ka1, critical), "nginx is down on ka1, which holds the
    //            VIP 192.0.2.100 of VRID 51: ...", within 3 s of the kill (goal; asserted < 10 s)
    //   (update) at most one
    //   resolved after nginx is started again
    let times = { t0: Date.now(), takeoverAt: NaN, restoredAt: NaN };
    await inbox.explain(times.t0, async () => {
      times = await nginxStopped(lab, 'SIGKILL', async () => {
        await inbox.waitFor('NginxDownOnVipHolder paged', (e) => hasAlert(e, 'NginxDownOnVipHolder', 'firing'), times.t0, 20_000);
        expect(await lab.vipHolders()).toEqual(['ka1']); // keepalived kept the VIP on the dead nginx
        await sleep(2_000);
      });
      const { first, end } = await firstAndEnd(inbox, times.t0, 'NginxDownOnVipHolder', 1_000, () => times.restoredAt);
      console.log(`nginx killed on the VIP holder: NginxDownOnVipHolder at the receiver +${secs(first.at - times.t0)} (goal 3 s); end ${secs(end.at - times.restoredAt)} after nginx restarted`);
      const inc = theIncident(inbox, times.t0);
      expectLifecycle(inc, 3);
      expect(inc.entries[0].at).toBe(first.at); // it is what the incident opens with
      expect(first.body.incident!.phase).toBe('first');
      expect(first.body.incident!.cause).toMatch(/nginx is down on ka1, which holds the VIP 192\.0\.2\.100/);
      expect(alertIn(first, 'NginxDownOnVipHolder', 'firing')!.labels).toMatchObject({ node: 'ka1', severity: 'critical' });
      expect(first.at - times.t0).toBeLessThan(10_000);
    });
  });
});
