// What every source does besides reading: hands events to the store without letting a throwing
// consumer kill the source, reports its own health once per change (keepwatch_source_up), counts
// every bad line while logging each kind once, and logs any other trouble once per key.
import type { Logger } from 'pino';
import type { Clock } from '../context';
import type { NodeEvent, SourceName } from '../state/types';
import type { Emit } from './source';

/** Longest piece of a bad input echoed in a parse_error event. */
const INPUT_ECHO_MAX = 200;

export class SourceReporter {
  private reportedUp: boolean | undefined;
  private reportedError: string | undefined;
  private readonly logged = new Set<string>();

  constructor(
    private readonly source: SourceName,
    private readonly emitEvent: Emit,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** How log lines name the source ("notify FIFO", "D-Bus"...). */
    private readonly what: string,
  ) {}

  /** Hands an event on; false when the consumer threw (logged once, the event is dropped). */
  emit(ev: NodeEvent): boolean {
    try {
      this.emitEvent(ev);
      return true;
    } catch (e) {
      this.once('emit', () => this.log.error({ err: e, kind: ev.kind }, 'event consumer threw; event dropped'));
      return false;
    }
  }

  up(): void {
    if (this.reportedUp === true) return;
    this.reportedUp = true;
    this.reportedError = undefined;
    this.emit({ kind: 'source', up: true, at: this.clock.now(), source: this.source });
  }

  down(error: string): void {
    if (this.reportedUp === false && this.reportedError === error) return;
    this.reportedUp = false;
    this.reportedError = error;
    this.log.warn({ err: error }, `${this.what} source down`);
    this.emit({ kind: 'source', up: false, at: this.clock.now(), source: this.source, error });
  }

  /** A bad line or record: always counted (an event), logged once per kind. */
  parseError(kind: string, reason: string, at: number, input?: string): void {
    this.once(`parse:${kind}`, () => this.log.warn({ code: kind, reason }, `bad ${this.what} input (logged once per kind, all are counted)`));
    this.emit({ kind: 'parse_error', at, source: this.source, reason, input: input?.slice(0, INPUT_ECHO_MAX) });
  }

  /** Runs fn the first time key is seen (bounded memory). */
  once(key: string, fn: () => void): void {
    if (this.logged.has(key)) return;
    if (this.logged.size > 1000) this.logged.clear();
    this.logged.add(key);
    fn();
  }
}
