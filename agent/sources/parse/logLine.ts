// One keepalived log line -> NodeEvents, "not about state" (ignored), or a parse error.
// Hand-rolled: keepalived's messages are its own log_message() formats (1.x and 2.x); no library knows them.
//
// Accepted framings (the prefix is stripped, its time and program name are used):
//   -l -D -n console:  "Wed Nov 25 19:14:23 2026: (VI_1) Entering MASTER STATE"
//   syslog file:       "Nov 25 19:14:23 host Keepalived_vrrp[123]: (VI_1) Entering MASTER STATE"
//   RFC 3339 syslog:   "2026-11-25T19:14:23.123456+00:00 host Keepalived_vrrp[123]: ..."
//   bare message:      "(VI_1) Entering MASTER STATE" (journald's MESSAGE, or `-l` without time)
// Lines of other programs (another syslog ident, Keepalived_healthcheckers, ...) are ignored.
import type { NodeEvent, VrrpState } from '../../state/types';
import { echo, VRRP_STATE_WORDS } from './words';

export type LogErrorCode =
  | 'unknown_state'
  | 'empty_name'
  | 'bad_advert'
  | 'bad_group'
  | 'bad_script'
  | 'bad_priority';

export type LogParseResult =
  | { ok: true; events: NodeEvent[] }
  | { ok: false; code: LogErrorCode; reason: string };

export interface LogLineContext {
  /** When the agent read the line (ms since epoch). */
  readAt: number;
  /** The entry's own precise time when the transport has one (journald __REALTIME_TIMESTAMP). */
  time?: number;
  /** The program name when the transport knows it (journald SYSLOG_IDENTIFIER). */
  ident?: string;
  /**
   * The line was logged while the agent was down (read from the last read position at start):
   * its own time is used whatever its age, and its events are marked as history (bounded by the
   * read time when the line has no time).
   */
  backlog?: boolean;
}

/**
 * A line's own time is used for `at` only when it is clearly older than the read (the source is
 * catching up, e.g. reading a file from its start): syslog times have whole seconds, so for a line
 * read as it is written the read time is the more precise of the two.
 */
export const LINE_TIME_TRUST_MS = 5000;

const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};

// "Wed Nov 25 19:14:23 2026: " (keepalived -l)
const CONSOLE_PREFIX = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4}): /;
// "Nov 25 19:14:23 host ident[pid]: " (RFC 3164 file; journalctl -o short[-precise])
const BSD_PREFIX = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(\.\d+)? (\S+) ([^\s:[]+)(?:\[(\d+)\])?: /;
// "2026-11-25T19:14:23.123456+00:00 host ident[pid]: " (rsyslog RFC 3339; journalctl -o short-iso)
const ISO_PREFIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) (\S+) ([^\s:[]+)(?:\[(\d+)\])?: /;
// "Keepalived_vrrp[123]: " with no time (some collectors)
const IDENT_PREFIX = /^(Keepalived\w*)(?:\[(\d+)\])?: /;

interface Framed {
  message: string;
  ident?: string;
  lineTime?: number;
}

/** The year of a syslog time that has none: the latest year that does not put it in the future. */
function bsdTime(mon: string, day: string, h: string, m: string, s: string, frac: string | undefined, now: number): number {
  const year = new Date(now).getFullYear();
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  let t = new Date(year, MONTHS[mon], Number(day), Number(h), Number(m), Number(s), ms).getTime();
  if (t > now + 86_400_000) t = new Date(year - 1, MONTHS[mon], Number(day), Number(h), Number(m), Number(s), ms).getTime();
  return t;
}

function unframe(line: string, now: number): Framed {
  let m = CONSOLE_PREFIX.exec(line);
  if (m) {
    const t = new Date(Number(m[6]), MONTHS[m[1]], Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])).getTime();
    return { message: line.slice(m[0].length), lineTime: t };
  }
  m = BSD_PREFIX.exec(line);
  if (m) {
    return {
      message: line.slice(m[0].length),
      ident: m[8],
      lineTime: bsdTime(m[1], m[2], m[3], m[4], m[5], m[6], now),
    };
  }
  m = ISO_PREFIX.exec(line);
  if (m) {
    const t = Date.parse(m[1]);
    return { message: line.slice(m[0].length), ident: m[3], lineTime: Number.isFinite(t) ? t : undefined };
  }
  m = IDENT_PREFIX.exec(line);
  if (m) return { message: line.slice(m[0].length), ident: m[1] };
  return { message: line };
}

/** Keepalived (the parent: child start/stop) and Keepalived_vrrp speak of VRRP; nothing else does. */
function identIsVrrp(ident: string): boolean {
  return ident === 'Keepalived' || ident === 'keepalived' || ident.startsWith('Keepalived_vrrp');
}

const IGNORED: LogParseResult = { ok: true, events: [] };

// "(VI_1) ..." (2.x) or "VRRP_Instance(VI_1) ..." (1.x); 2.x also writes "(VI_1): entering FAULT state (...)".
const INSTANCE_MSG = /^(?:VRRP_Instance)?\(([^)]*)\):? +(.*)$/;
// Entering MASTER STATE | Entering BACKUP STATE (init) | entering FAULT state (no IPv4 address for interface)
const ENTERING = /^[Ee]ntering (\S+) (?:STATE|state)(?: \((.*)\))?$/;
const ENTERING_LOOSE = /^[Ee]ntering\b.*\b(?:STATE|state)\b/;
// 1.x: Transition to MASTER STATE | Now in FAULT state
const TRANSITION_1X = /^(?:Transition to|Now in) (\S+) (?:STATE|state)$/;
const TRANSITION_1X_LOOSE = /^(?:Transition to|Now in)\b/;
// 2.x: Received advert from 192.0.2.12 with lower priority 100, ours 150, forcing new election
const RX_LOWER_2X = /^Received advert from (\S+) with lower priority (\d+), ours (\d+), forcing new election$/;
// 2.x: Master received advert from 192.0.2.11 with higher priority 150, ours 100
const RX_HIGHER_2X = /^Master received advert from (\S+) with higher priority (\d+), ours (\d+)$/;
// 2.x: Master received advert from X with same priority 100 but higher IP address than ours
const RX_SAME_2X = /^Master received advert from (\S+) with same priority (\d+) but higher IP address than ours$/;
// 1.3+: Received advert with lower priority 100, ours 150, forcing new election | with higher priority 150, ours 100
const RX_1X_NUM = /^Received advert with (lower|higher) priority (\d+), ours (\d+)(, forcing new election)?$/;
// 1.2: Received lower prio advert, forcing new election | Received higher prio advert
const RX_1X_OLD = /^Received (lower|higher) prio advert(?:, forcing new election)?$/;
const RX_LOOSE = /^(?:Master )?[Rr]eceived advert (?:from|with)\b/;
// (VI_3) Changing effective priority from 150 to 70
const PRIO_CHANGE = /^Changing effective priority from (\d+) to (\d+)$/;
const PRIO_CHANGE_LOOSE = /^Changing effective priority\b/;
// VRRP_Group(G1) Syncing instances to MASTER state
const GROUP_SYNC = /^VRRP_Group\(([^)]*)\):? Syncing instances to (\S+) state$/;
const GROUP_LOOSE = /^VRRP_Group\(.*\bSyncing instances\b/;
// VRRP_Script(chk) succeeded | failed | failed (exited with status 1) | timed out
const SCRIPT = /^VRRP_Script\(([^)]*)\) (succeeded|failed|timed out|considered successful on reload)(?: \((.*)\))?$/;
const SCRIPT_LOOSE = /^VRRP_Script\(.*\) (?:succeeded|failed)\b/;
// Lifecycle of the VRRP process.
const CHILD_START = /^Starting VRRP child process, pid=\d+$/;
const CHILD_DIED = /^VRRP child process\((\d+)\) died: (.*)$/;
const VRRP_EXITED = /^Keepalived_vrrp exited (.*)$/;
const STOPPED_VRRP = /^Stopped(?: - used .*)?$/;
const STOPPED_KEEPALIVED = /^(Stopping|Stopped) Keepalived v\S+/;

function fail(code: LogErrorCode, reason: string): LogParseResult {
  return { ok: false, code, reason };
}

function prio(text: string): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : undefined;
}

/**
 * Parses one log line (without its newline). Lines that say nothing about VRRP state give no
 * events and no error; lines that look like state lines but are malformed give an error.
 */
export function parseLogLine(line: string, ctx: LogLineContext): LogParseResult {
  const raw = line.replace(/\r$/, '');
  const framed = unframe(raw, ctx.readAt);
  const ident = ctx.ident ?? framed.ident;
  if (ident !== undefined && !identIsVrrp(ident)) return IGNORED;
  const own = ctx.time ?? framed.lineTime;
  const at = ctx.time ?? (framed.lineTime !== undefined && (ctx.backlog || ctx.readAt - framed.lineTime > LINE_TIME_TRUST_MS) ? framed.lineTime : ctx.readAt);
  const msg = framed.message.trim();
  const base = { at, source: 'log' as const, ...(ctx.backlog ? { history: own === undefined ? { bounded: true } : {} } : {}) };

  const inst = INSTANCE_MSG.exec(msg);
  if (inst) {
    const iname = inst[1];
    const body = inst[2];
    const looksLikeState = ENTERING_LOOSE.test(body) || TRANSITION_1X_LOOSE.test(body) || RX_LOOSE.test(body) || RX_1X_OLD.test(body) || PRIO_CHANGE_LOOSE.test(body);
    if (!looksLikeState) return IGNORED;
    if (iname.trim() === '') return fail('empty_name', `instance line with an empty instance name: ${echo(msg)}`);

    let m = ENTERING.exec(body) ?? TRANSITION_1X.exec(body);
    if (m) {
      const state = VRRP_STATE_WORDS[m[1].toUpperCase()];
      if (!state) return fail('unknown_state', `(${iname}): unknown VRRP state ${echo(m[1])} in ${echo(body)}`);
      // The parenthesised tail is keepalived's reason: "init", "interface eth0 down", ...
      return { ok: true, events: [{ kind: 'transition', ...base, iname, state, ...(m[2] ? { cause: m[2] } : {}) }] };
    }
    if (ENTERING_LOOSE.test(body) || TRANSITION_1X_LOOSE.test(body)) {
      return fail('unknown_state', `(${iname}): state line without a known state: ${echo(body)}`);
    }

    m = RX_LOWER_2X.exec(body);
    if (m) return evidence(base, iname, 'RX_LOWER_PRI_ADVERT', m[1], m[2], m[3], body);
    m = RX_HIGHER_2X.exec(body);
    if (m) return evidence(base, iname, 'RX_HIGHER_PRI_ADVERT', m[1], m[2], m[3], body);
    m = RX_SAME_2X.exec(body);
    if (m) return evidence(base, iname, 'RX_HIGHER_PRI_ADVERT', m[1], m[2], m[2], body);
    m = RX_1X_NUM.exec(body);
    if (m) return evidence(base, iname, m[1] === 'lower' ? 'RX_LOWER_PRI_ADVERT' : 'RX_HIGHER_PRI_ADVERT', undefined, m[2], m[3], body);
    m = RX_1X_OLD.exec(body);
    if (m) {
      const type = m[1] === 'lower' ? 'RX_LOWER_PRI_ADVERT' : 'RX_HIGHER_PRI_ADVERT';
      return { ok: true, events: [{ kind: 'evidence', ...base, iname, type }] };
    }
    if (RX_LOOSE.test(body)) return fail('bad_advert', `(${iname}): advert line without a peer and priorities: ${echo(body)}`);

    m = PRIO_CHANGE.exec(body);
    if (m) {
      const p = prio(m[2]);
      if (p === undefined) return fail('bad_priority', `(${iname}): priority ${echo(m[2])} is not an integer 0-255`);
      return { ok: true, events: [{ kind: 'priority', ...base, iname, priority: p }] };
    }
    return fail('bad_priority', `(${iname}): priority change line without two priorities: ${echo(body)}`);
  }

  let m = GROUP_SYNC.exec(msg);
  if (m) {
    if (m[1].trim() === '') return fail('empty_name', `sync group line with an empty group name: ${echo(msg)}`);
    const state = VRRP_STATE_WORDS[m[2].toUpperCase()];
    if (!state) return fail('unknown_state', `VRRP_Group(${m[1]}): unknown state ${echo(m[2])}`);
    return { ok: true, events: [{ kind: 'group', ...base, group: m[1], state }] };
  }
  if (GROUP_LOOSE.test(msg)) return fail('bad_group', `sync group line not understood: ${echo(msg)}`);

  m = SCRIPT.exec(msg);
  if (m) {
    if (m[1].trim() === '') return fail('empty_name', `script line with an empty script name: ${echo(msg)}`);
    const good = m[2] === 'succeeded' || m[2] === 'considered successful on reload';
    return { ok: true, events: [{ kind: 'script', ...base, name: m[1], good }] };
  }
  if (SCRIPT_LOOSE.test(msg)) return fail('bad_script', `script line not understood: ${echo(msg)}`);

  // The VRRP child's pid is not keepalived's pid (the parent's, which the pid file and the
  // process source give): it goes in no event, so KeepalivedEvent.pid keeps one meaning.
  if (CHILD_START.test(msg)) return { ok: true, events: [{ kind: 'keepalived', ...base, up: true }] };
  m = CHILD_DIED.exec(msg);
  if (m) return { ok: true, events: [{ kind: 'keepalived', ...base, up: false, reason: `VRRP process ${m[1]} died (${m[2]})` }] };
  m = VRRP_EXITED.exec(msg);
  if (m) return { ok: true, events: [{ kind: 'keepalived', ...base, up: false, reason: `VRRP process exited ${m[1]}` }] };
  m = STOPPED_KEEPALIVED.exec(msg);
  if (m) return { ok: true, events: [{ kind: 'keepalived', ...base, up: false, reason: m[1] === 'Stopping' ? 'stopping' : 'stopped' }] };
  // "Stopped" alone is the VRRP child's last word; the healthchecker says it too, so trust it only
  // from Keepalived_vrrp or when the framing gives no program name (keepalived -l).
  if (STOPPED_VRRP.test(msg) && (ident === undefined || ident.startsWith('Keepalived_vrrp'))) {
    return { ok: true, events: [{ kind: 'keepalived', ...base, up: false, reason: 'stopped' }] };
  }
  // 2.x parent: "Stopping" (the VRRP child then sends priority 0 and removes the VIPs).
  if (msg === 'Stopping' && (ident === undefined || ident === 'Keepalived')) {
    return { ok: true, events: [{ kind: 'keepalived', ...base, up: false, reason: 'stopping' }] };
  }
  return IGNORED;
}

function evidence(
  base: { at: number; source: 'log'; history?: { bounded?: boolean } },
  iname: string,
  type: 'RX_LOWER_PRI_ADVERT' | 'RX_HIGHER_PRI_ADVERT',
  peer: string | undefined,
  peerPrio: string,
  ourPrio: string,
  body: string,
): LogParseResult {
  const peerPriority = prio(peerPrio);
  const ourPriority = prio(ourPrio);
  if (peerPriority === undefined || ourPriority === undefined) {
    return fail('bad_priority', `(${iname}): priorities out of range 0-255 in ${echo(body)}`);
  }
  return { ok: true, events: [{ kind: 'evidence', ...base, iname, type, ...(peer ? { peer } : {}), peerPriority, ourPriority }] };
}
