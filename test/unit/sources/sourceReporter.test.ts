// What every source shares: its environment from sourceEnv (events into the sink, logs tagged with
// the source's name) and the reporter (health once per change, parse errors counted and logged once
// per kind, a throwing consumer contained).
import pino from 'pino';
import { sourceEnv } from '../../../agent/sources/source';
import { SourceReporter } from '../../../agent/sources/sourceReporter';
import type { NodeEvent } from '../../../agent/state/types';
import { FakeClock } from '../../helpers/fakeClock';

function setup(apply: (ev: NodeEvent) => unknown = () => undefined) {
  const clock = new FakeClock();
  const logs: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) });
  const events: NodeEvent[] = [];
  const env = sourceEnv({ apply: (ev) => { events.push(ev); return apply(ev); } }, { clock, log }, 'fifo');
  return { clock, logs, events, env };
}

test('sourceEnv: the injected clock, emit into the sink, logs tagged {source}', () => {
  const { clock, logs, events, env } = setup();
  expect(env.clock).toBe(clock);
  env.emit({ kind: 'keepalived', up: true, at: 1, source: 'fifo' });
  expect(events).toEqual([{ kind: 'keepalived', up: true, at: 1, source: 'fifo' }]);
  env.log.info('hello');
  expect(logs).toEqual([expect.objectContaining({ source: 'fifo', msg: 'hello' })]);
  expect(env.report).toBeInstanceOf(SourceReporter);
});

test('up and down: one event per change, stamped by the clock; the same error twice is one event', () => {
  const { clock, events, env } = setup();
  env.report.up();
  env.report.up();
  clock.advance(1000);
  env.report.down('gone');
  env.report.down('gone');
  env.report.down('other');
  env.report.up();
  const t = clock.now();
  expect(events).toEqual([
    { kind: 'source', up: true, at: t - 1000, source: 'fifo' },
    { kind: 'source', up: false, at: t, source: 'fifo', error: 'gone' },
    { kind: 'source', up: false, at: t, source: 'fifo', error: 'other' },
    { kind: 'source', up: true, at: t, source: 'fifo' },
  ]);
});

test('down is logged with the source\'s words for itself', () => {
  const { logs, env } = setup();
  env.report.down('no such file');
  expect(logs).toEqual([expect.objectContaining({ msg: 'notify FIFO source down', err: 'no such file', source: 'fifo' })]);
});

test('parse errors: every one is an event (input bounded), each kind logged once', () => {
  const { logs, events, env } = setup();
  env.report.parseError('bad_state', 'unknown state', 5, 'x'.repeat(500));
  env.report.parseError('bad_state', 'unknown state', 6, 'short');
  env.report.parseError('overlong', 'too long', 7);
  expect(events).toEqual([
    { kind: 'parse_error', at: 5, source: 'fifo', reason: 'unknown state', input: 'x'.repeat(200) },
    { kind: 'parse_error', at: 6, source: 'fifo', reason: 'unknown state', input: 'short' },
    { kind: 'parse_error', at: 7, source: 'fifo', reason: 'too long', input: undefined },
  ]);
  expect(logs.map((l) => l.code)).toEqual(['bad_state', 'overlong']);
});

test('a consumer that throws: report.emit says false and logs once; env.emit lets it throw', () => {
  const { logs, env } = setup(() => {
    throw new Error('store broke');
  });
  const ev: NodeEvent = { kind: 'keepalived', up: true, at: 1, source: 'fifo' };
  expect(env.report.emit(ev)).toBe(false);
  expect(env.report.emit(ev)).toBe(false);
  expect(logs.filter((l) => l.msg === 'event consumer threw; event dropped')).toHaveLength(1);
  expect(() => env.emit(ev)).toThrow('store broke');
});

test('once: runs the first time a key is seen only', () => {
  const { env } = setup();
  const ran: string[] = [];
  for (const k of ['a', 'b', 'a', 'b', 'c']) env.report.once(k, () => ran.push(k));
  expect(ran).toEqual(['a', 'b', 'c']);
});
