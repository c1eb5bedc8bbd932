// What every source of keepalived state is: a component the daemon starts and stops, emitting
// typed events into the store. A source never throws for runtime trouble: it reports itself down
// ({kind:'source', up:false}) through its reporter and retries.
//
// One constructor shape for all of them, a SourceFactory: the source's own options, then the
// SourceEnv every source gets (clock, logger, the store's emit, the reporter), built once per
// source by sourceEnv().
import type { Clock, Ctx } from '../context';
import type { Logger } from 'pino';
import type { Component } from '../module';
import type { NodeEvent, SourceName } from '../state/types';
import { SourceReporter } from './sourceReporter';

export type Emit = (ev: NodeEvent) => void;

export interface Source extends Component {
  readonly name: SourceName;
}

/** Where a source's events go: the store, or anything with the store's apply (tests collect them). */
export interface EventSink {
  apply(ev: NodeEvent): unknown;
}

/** What every source needs besides its own options. */
export interface SourceEnv extends Ctx {
  clock: Clock;
  /** Already tagged with the source's name. */
  log: Logger;
  /** Hands an event to the sink as is: a throwing consumer throws here (see report.emit for the guarded path). */
  emit: Emit;
  /** Health (keepwatch_source_up), parse errors and log-once, for this source. */
  report: SourceReporter;
}

/** The one constructor shape: options in, a source out. */
export type SourceFactory<O, S extends Source = Source> = (opts: O, env: SourceEnv) => S;

/** How log lines name each source ("notify FIFO source down"). */
const WHAT: Partial<Record<SourceName, string>> = {
  dbus: 'D-Bus',
  fifo: 'notify FIFO',
  log: 'keepalived log',
  hook: 'hook',
  dumps: 'dumps',
  process: 'keepalived process',
  keepalived_conf: 'keepalived.conf',
};

/** The environment of one source: events into sink, logs tagged {source: name}. */
export function sourceEnv(sink: EventSink, ctx: Ctx, name: SourceName): SourceEnv {
  const log = ctx.log.child({ source: name });
  const emit: Emit = (ev) => void sink.apply(ev);
  return { clock: ctx.clock, log, emit, report: new SourceReporter(name, emit, ctx.clock, log, WHAT[name] ?? name) };
}
