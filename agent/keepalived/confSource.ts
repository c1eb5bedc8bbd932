// keepalived.conf as a source of what each instance should be (VIPs, advert interval, auth type,
// preemption, unicast peers, sync group): parsed at start, again when keepalived (re)starts or
// reloads (a `keepalived` up event in the store) and when one of its files changes (a stat per
// file every checkInterval: microseconds, no inotify watch to leak). Errors are parse_error events
// with file:line, each counted once per distinct problem, and logged.
import type { Logger } from 'pino';
import * as fs from 'node:fs';
import type { Clock } from '../context';
import type { NodeStore } from '../state/store';
import type { InstanceInfoEvent, NodeEvent, VipEntry } from '../state/types';
import { defaultPrefix } from '../sources/parse/dumpCommon';
import type { Source } from '../sources/source';
import { parseKeepalivedConf, type ParseConfOptions } from './confParser';
import type { ConfIssue, KeepalivedConf, VipConf } from './confTypes';
import { normalizeIp } from '../probes/ipAddress';

const SOURCE = 'keepalived_conf' as const;

/** One spelling per address (2001:DB8:0::1 -> 2001:db8::1), the one keepalived's dumps and the kernel use:
 *  nodes whose keepalived.conf spell a VIP differently agree, and metric labels match the dumps'. */
const canonical = (a: string): string => normalizeIp(a) ?? a;

/** A configured VIP as keepalived writes it in its dumps (prefix defaulted the way keepalived does). */
const vipEntryOf = (v: VipConf): VipEntry => {
  const address = canonical(v.address);
  const e: VipEntry = { address, prefix: v.prefix ?? defaultPrefix(address) };
  if (v.dev) e.dev = v.dev;
  return e;
};

/** The instance events the daemon applies for a parsed configuration (instances without a VRID are skipped). */
export function instanceEventsFromConf(conf: KeepalivedConf, at: number): InstanceInfoEvent[] {
  const out: InstanceInfoEvent[] = [];
  for (const i of conf.instances) {
    if (i.virtualRouterId === undefined) continue;
    out.push({
      kind: 'instance',
      source: SOURCE,
      at,
      key: { iname: i.name, intf: i.interface ?? '', vrid: i.virtualRouterId, family: i.family },
      priority: i.priority ?? 100,
      vips: i.vips.map((v) => canonical(v.address)),
      vipEntries: i.vips.map(vipEntryOf),
      excludedVips: i.excludedVips.map(vipEntryOf),
      advertIntervalMs: Math.round((i.advertIntS ?? 1) * 1000),
      authType: i.authType ?? 'NONE',
      nopreempt: i.nopreempt,
      preemptDelayS: i.preemptDelayS ?? 0,
      unicastPeers: i.unicastPeers.map(canonical),
      syncGroup: i.syncGroup,
    });
  }
  return out;
}

export function issueText(i: ConfIssue): string {
  return `${i.file}:${i.line}: ${i.message}`;
}

export interface ConfLoad {
  conf: KeepalivedConf;
  events: NodeEvent[];
}

/** Parses the file and returns the events to apply: instances, the source's health, and one parse_error per error. */
export function loadKeepalivedConf(path: string, at: number, opts: ParseConfOptions = {}): ConfLoad {
  const conf = parseKeepalivedConf(path, opts);
  const errors = conf.issues.filter((i) => i.severity === 'error');
  const events: NodeEvent[] = [...instanceEventsFromConf(conf, at)];
  const unreadable = conf.files.length === 0;
  events.push({
    kind: 'source',
    source: SOURCE,
    at,
    up: !unreadable,
    error: errors.length ? `${errors.length} error(s), first: ${issueText(errors[0])}` : undefined,
  });
  for (const e of errors) events.push({ kind: 'parse_error', source: SOURCE, at, reason: issueText(e) });
  return { conf, events };
}

export interface KeepalivedConfSourceOptions {
  path: string;
  store: NodeStore;
  clock: Clock;
  log: Logger;
  parse?: ParseConfOptions;
  /** How often the files' mtime/size are checked (default 30 s; 0 = never). */
  checkIntervalMs?: number;
  stat?: (p: string) => { mtimeMs: number; size: number };
}

export class KeepalivedConfSource implements Source {
  readonly name = SOURCE;
  private conf?: KeepalivedConf;
  private fingerprint = '';
  private reported = new Set<string>();
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(private readonly opts: KeepalivedConfSourceOptions) {}

  /** The last parsed configuration (for other modules: sync groups, unicast peers, notify hooks). */
  current(): KeepalivedConf | undefined {
    return this.conf;
  }

  async start(): Promise<void> {
    this.reload('start');
    this.unsubscribe = this.opts.store.subscribe((c) => {
      if (c.event.kind === 'keepalived' && c.event.up) this.reload('keepalived (re)started or reloaded');
    });
    const every = this.opts.checkIntervalMs ?? 30_000;
    if (every > 0) this.timer = this.opts.clock.setInterval(() => this.checkFiles(), every);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.opts.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Parses again and applies the result. Never throws. */
  reload(why: string): KeepalivedConf | undefined {
    let load: ConfLoad;
    try {
      load = loadKeepalivedConf(this.opts.path, this.opts.clock.now(), this.opts.parse);
    } catch (e) {
      // The parser does not throw by design; this guards the agent against a bug in it.
      this.opts.log.error({ err: (e as Error).message, path: this.opts.path }, 'keepalived.conf parser failed');
      return this.conf;
    }
    this.conf = load.conf;
    this.fingerprint = this.filesFingerprint(load.conf.files);
    const seen = new Set<string>();
    for (const ev of load.events) {
      if (ev.kind === 'parse_error') {
        seen.add(ev.reason);
        if (this.reported.has(ev.reason)) continue; // the same problem counts once, not once per re-parse
      }
      this.opts.store.apply(ev);
    }
    this.reported = seen;
    const errors = load.conf.issues.filter((i) => i.severity === 'error');
    const warnings = load.conf.issues.filter((i) => i.severity === 'warning');
    const summary = { path: this.opts.path, why, files: load.conf.files.length, instances: load.conf.instances.length };
    if (errors.length) this.opts.log.warn({ ...summary, errors: errors.map(issueText), warnings: warnings.map(issueText) }, 'keepalived.conf read with errors');
    else this.opts.log.info({ ...summary, warnings: warnings.length ? warnings.map(issueText) : undefined }, 'keepalived.conf read');
    return this.conf;
  }

  private filesFingerprint(files: string[]): string {
    const stat = this.opts.stat ?? ((p: string) => fs.statSync(p));
    return [this.opts.path, ...files]
      .map((f) => {
        try {
          const s = stat(f);
          return `${f}:${s.mtimeMs}:${s.size}`;
        } catch {
          return `${f}:-`;
        }
      })
      .join('|');
  }

  private checkFiles(): void {
    const files = this.conf?.files ?? [];
    if (this.filesFingerprint(files) !== this.fingerprint) this.reload('file changed');
  }
}
