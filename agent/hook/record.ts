// The notify hook's record: one line the hook (agent/hook/keepwatch-notify) or `keepwatch notify`
// hands to the agent over its socket or through the spool:
//   v1 <epoch_ns> <seq> <GROUP|INSTANCE> <NAME> <STATE> <PRIORITY|->
// NAME is one field: a space, '%', a control character or a non-ASCII byte is written %XX (UTF-8
// bytes), so instance names with spaces or accents keep their transition.
// seq is the writer's pid: keepalived forks its notify scripts in the order of its transitions and
// the kernel hands pids out in fork order, so for records close in time the pid tells which came
// first even when the forked scripts ran (and took their timestamps) out of order.
// Bad hook arguments are kept for inspection as a multi-line record:
//   v1-bad <epoch_ns> <pid> <argc>\n<arg 1>\n<arg 2>...
// A hand-written parser: the format is one space-separated line; a grammar library would be larger
// than the parser.
import { readFileSync } from 'node:fs';
import type { EvidenceEvent, GroupEvent, TransitionEvent, VrrpState } from '../state/types';

export type HookRecordState = Exclude<VrrpState, 'UNKNOWN'> | 'MASTER_RX_LOWER_PRI';

export interface HookRecord {
  /** epoch ns as written (digits; beyond 2^53, so kept as bigint). */
  ns: bigint;
  /** ms since epoch (floor of ns). */
  at: number;
  /** The writer's pid (fork order). */
  seq: number;
  type: 'INSTANCE' | 'GROUP';
  name: string;
  state: HookRecordState;
  priority?: number;
  /** `<ns>-<seq>`: unique per record, the spool file's base name and the socket's ack. */
  id: string;
}

export type ParseResult =
  | { ok: true; record: HookRecord }
  | { ok: false; reason: string; /** the record is a hook call with bad arguments, kept for inspection */ badArgs?: boolean };

const STATES: ReadonlySet<string> = new Set(['MASTER', 'BACKUP', 'FAULT', 'STOP', 'INIT', 'DELETED', 'MASTER_RX_LOWER_PRI']);
/** The NAME field: printable ASCII without spaces (a name's bytes, some %XX-encoded). */
const NAME_FIELD_RE = /^[\x21-\x7e]{1,765}$/;
const MAX_NAME_BYTES = 255;

/** A name as one record field: bytes outside printable ASCII, space and '%' become %XX. */
export function encodeName(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) out += b > 0x20 && b < 0x7f && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The name a NAME field stands for (a '%' not followed by two hex digits stays as written). */
export function decodeName(field: string): string {
  if (!field.includes('%')) return field;
  const bytes: number[] = [];
  for (let i = 0; i < field.length; i++) {
    const hex = field.slice(i + 1, i + 3);
    if (field[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(field.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'name must not be empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `name must be at most ${MAX_NAME_BYTES} bytes, got "${excerpt(name, 60)}"`;
  return undefined;
}
const MAX_RECORD = 4096;

/** Bounded, printable excerpt of bad input for logs and parse_error events. */
export function excerpt(s: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

export function parseRecord(text: string): ParseResult {
  if (text.length > MAX_RECORD) return { ok: false, reason: `record too long (${text.length} bytes, max ${MAX_RECORD})` };
  if (text.startsWith('v1-bad ')) {
    const [header, ...args] = text.replace(/\n$/, '').split('\n');
    return { ok: false, badArgs: true, reason: `hook called with bad arguments (${header.split(' ')[3] ?? '?'}): ${args.map((a) => JSON.stringify(a)).join(' ')}` };
  }
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (line.includes('\n')) return { ok: false, reason: 'more than one line in a record' };
  const f = line.split(' ');
  if (f[0] !== 'v1') return { ok: false, reason: `unknown record version "${excerpt(f[0] ?? '', 20)}" (expected v1)` };
  if (f.length !== 7) return { ok: false, reason: `expected 7 space-separated fields, got ${f.length}` };
  const [, nsText, seqText, type, nameField, state, prioText] = f;
  if (!/^\d{1,20}$/.test(nsText)) return { ok: false, reason: `timestamp must be epoch nanoseconds, got "${excerpt(nsText, 30)}"` };
  if (!/^\d{1,10}$/.test(seqText) || Number(seqText) > 0xffffffff) return { ok: false, reason: `seq must be a pid, got "${excerpt(seqText, 30)}"` };
  if (type !== 'INSTANCE' && type !== 'GROUP') return { ok: false, reason: `type must be GROUP or INSTANCE, got "${excerpt(type, 30)}"` };
  if (!NAME_FIELD_RE.test(nameField)) return { ok: false, reason: `name must be printable ASCII without spaces (others as %XX), got "${excerpt(nameField, 60)}"` };
  const name = decodeName(nameField);
  const bad = nameProblem(name);
  if (bad) return { ok: false, reason: bad };
  if (!STATES.has(state)) return { ok: false, reason: `unknown state "${excerpt(state, 30)}"` };
  if (state === 'MASTER_RX_LOWER_PRI' && type !== 'INSTANCE') return { ok: false, reason: 'MASTER_RX_LOWER_PRI is for an INSTANCE' };
  let priority: number | undefined;
  if (prioText !== '-') {
    if (!/^\d{1,3}$/.test(prioText) || Number(prioText) > 255) return { ok: false, reason: `priority must be 0-255 or -, got "${excerpt(prioText, 30)}"` };
    priority = Number(prioText);
  }
  const ns = BigInt(nsText);
  return {
    ok: true,
    record: { ns, at: Number(ns / 1_000_000n), seq: Number(seqText), type, name, state: state as HookRecordState, priority, id: `${ns}-${Number(seqText)}` },
  };
}

export function formatRecord(r: Pick<HookRecord, 'ns' | 'seq' | 'type' | 'name' | 'state' | 'priority'>): string {
  return `v1 ${r.ns} ${r.seq} ${r.type} ${encodeName(r.name)} ${r.state} ${r.priority === undefined ? '-' : r.priority}\n`;
}

export function formatBadRecord(ns: bigint, pid: number, args: string[]): string {
  return `v1-bad ${ns} ${pid} ${args.length}\n${args.map((a) => `${a}\n`).join('')}`;
}

export interface OrderOptions {
  /** The kernel's pid_max (/proc/sys/kernel/pid_max): pids wrap there. */
  pidMax?: number;
  /** Records closer in time than this are ordered by pid (fork order), ns. */
  forkSkewNs?: bigint;
}

export const DEFAULT_PID_MAX = 4_194_304;
/** The kernel's pid_max (pids wrap there); DEFAULT_PID_MAX when it cannot be read. */
export function readPidMax(file = '/proc/sys/kernel/pid_max'): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : DEFAULT_PID_MAX;
  } catch {
    return DEFAULT_PID_MAX;
  }
}

export const DEFAULT_FORK_SKEW_NS = 100_000_000n; // 100 ms: a forked hook reaches `date` far sooner

/**
 * Order of two records as keepalived produced them: by fork order (pid, wrap-aware) when they are
 * within forkSkewNs of each other, else by timestamp; ties by pid then name.
 */
export function compareRecords(a: HookRecord, b: HookRecord, opts: OrderOptions = {}): number {
  const pidMax = opts.pidMax ?? DEFAULT_PID_MAX;
  const skew = opts.forkSkewNs ?? DEFAULT_FORK_SKEW_NS;
  const dt = a.ns - b.ns;
  const close = (dt < 0n ? -dt : dt) <= skew;
  if (close && a.seq !== b.seq && a.seq < pidMax && b.seq < pidMax) {
    let d = (b.seq - a.seq) % pidMax;
    if (d < 0) d += pidMax;
    // d in (0, pidMax): b forked d pids after a, unless that is more than half the pid space (a wrap).
    return d < pidMax / 2 ? -1 : 1;
  }
  if (dt !== 0n) return dt < 0n ? -1 : 1;
  if (a.seq !== b.seq) return a.seq - b.seq;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export type HookEvent = TransitionEvent | GroupEvent | EvidenceEvent;

/** The store event a record stands for (source 'hook', with its seq). */
export function recordToEvent(r: HookRecord): HookEvent {
  const base = { at: r.at, source: 'hook' as const, seq: r.seq };
  if (r.state === 'MASTER_RX_LOWER_PRI') {
    return { ...base, kind: 'evidence', iname: r.name, type: 'MASTER_RX_LOWER_PRI', ourPriority: r.priority };
  }
  if (r.type === 'GROUP') {
    // keepalived passes priority 0 for a group: it has none.
    return { ...base, kind: 'group', group: r.name, state: r.state, priority: r.priority ? r.priority : undefined };
  }
  return { ...base, kind: 'transition', iname: r.name, state: r.state, priority: r.priority };
}

const TYPE_OF: Record<string, 'INSTANCE' | 'GROUP'> = { INSTANCE: 'INSTANCE', GROUP: 'GROUP' };

/**
 * The record for notify-style arguments, validated as the sh hook validates them:
 * `TYPE NAME STATE [PRIORITY]`, or with `state` given (--state): `TYPE NAME [PRIORITY]`.
 */
export function recordFromArgs(
  args: string[],
  opts: { state?: string; ns: bigint; seq: number },
): { ok: true; record: HookRecord } | { ok: false; reason: string } {
  let type: string, name: string, state: string, prio: string | undefined;
  if (opts.state !== undefined) {
    if (args.length < 2 || args.length > 3) return { ok: false, reason: `--state needs GROUP|INSTANCE NAME [PRIORITY], got ${args.length} argument(s)` };
    [type, name, prio] = args;
    state = opts.state;
  } else {
    if (args.length < 3 || args.length > 4) return { ok: false, reason: `need GROUP|INSTANCE NAME STATE [PRIORITY], got ${args.length} argument(s)` };
    [type, name, state, prio] = args;
  }
  const t = TYPE_OF[type.toUpperCase()];
  if (!t) return { ok: false, reason: `type must be GROUP or INSTANCE, got '${excerpt(type, 40)}'` };
  const st = state === 'MASTER_RX_LOWER_PRI' ? state : state.toUpperCase();
  const bad = nameProblem(name);
  if (bad) return { ok: false, reason: bad };
  const line = `v1 ${opts.ns} ${opts.seq} ${t} ${encodeName(name)} ${st} ${prio === undefined || prio === '' ? '-' : prio}`;
  const r = parseRecord(line);
  return r.ok ? r : { ok: false, reason: r.reason };
}
