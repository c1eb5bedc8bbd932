// One line of keepalived's notify FIFO -> NodeEvents, or a parse error saying what is wrong.
// Hand-rolled: these are keepalived's own snprintf formats (vrrp_notify.c, ipwrapper.c); no library parses them.
//
// Formats (keepalived 2.x; the VRRP ones are the same in 1.3+):
//   INSTANCE "<iname>" <MASTER|BACKUP|FAULT|STOP|DELETED> <effective priority>
//   INSTANCE "<iname>" <MASTER_PRIORITY|BACKUP_PRIORITY> <new effective priority>  (notify_priority_changes)
//   INSTANCE "<iname>" MASTER_RX_LOWER_PRI <our priority>  (a MASTER heard a lower-priority MASTER)
//   GROUP "<gname>" <state> 0
//   VS <vs> <UP|DOWN>          vs = [192.0.2.100]:tcp:80 | FWM 5 | [group]:80
//   RS <rs> <vs> <UP|DOWN>     rs = [192.0.2.21]:tcp:80
// A checker event's target is the line between the type and UP/DOWN, as keepalived prints it
// ("[192.0.2.100]:tcp:80", or "[192.0.2.21]:tcp:80 [192.0.2.100]:tcp:80" for a real server).
// Names are written between double quotes without escaping; notify scripts get them unquoted, and
// people pipe those into the FIFO too, so both are accepted. A name may hold spaces or quotes: the
// line is read from its end (priority, then state), the rest is the name.
import type { NodeEvent, VrrpState } from '../../state/types';
import { echo, VRRP_STATE_WORDS } from './words';

export type FifoParseResult =
  | { ok: true; events: NodeEvent[] }
  | { ok: false; code: FifoErrorCode; reason: string };

/** Stable codes: sources log each code once and count every occurrence. */
export type FifoErrorCode =
  | 'unknown_type'
  | 'missing_fields'
  | 'bad_priority'
  | 'unknown_state'
  | 'empty_name'
  | 'bad_checker';

function fail(code: FifoErrorCode, reason: string): FifoParseResult {
  return { ok: false, code, reason };
}

/** Strips one pair of surrounding double quotes, as keepalived writes them. */
function unquote(name: string): string {
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) return name.slice(1, -1);
  return name;
}

/**
 * Parses one FIFO line (without its newline). `at` is stamped on every event (the FIFO has no time
 * of its own: the source passes the read time). Blank lines give no events and no error.
 */
export function parseFifoLine(line: string, at: number): FifoParseResult {
  const text = line.replace(/\r$/, '').trim();
  if (text === '') return { ok: true, events: [] };
  const sp = text.indexOf(' ');
  const type = sp === -1 ? text : text.slice(0, sp);
  const rest = sp === -1 ? '' : text.slice(sp + 1).trim();
  switch (type) {
    case 'INSTANCE':
    case 'GROUP':
      return parseVrrp(type, rest, at);
    case 'VS':
    case 'RS':
      return parseChecker(type, rest, at);
    default:
      return fail('unknown_type', `unknown line type ${echo(type)}: expected INSTANCE, GROUP, VS or RS`);
  }
}

function parseVrrp(type: 'INSTANCE' | 'GROUP', rest: string, at: number): FifoParseResult {
  // <name...> <STATE> <priority>, read from the end so names may contain spaces and quotes.
  const lastSp = rest.lastIndexOf(' ');
  if (lastSp === -1) return fail('missing_fields', `${type} line needs a name, a state and a priority, got ${echo(rest)}`);
  const prioText = rest.slice(lastSp + 1);
  const head = rest.slice(0, lastSp).trimEnd();
  const stateSp = head.lastIndexOf(' ');
  if (stateSp === -1) return fail('missing_fields', `${type} line needs a name, a state and a priority, got ${echo(rest)}`);
  const stateText = head.slice(stateSp + 1);
  const name = unquote(head.slice(0, stateSp).trim());
  if (name === '') return fail('empty_name', `${type} line has an empty name`);
  if (!/^\d{1,3}$/.test(prioText) || Number(prioText) > 255) {
    return fail('bad_priority', `${type} ${echo(name)}: priority ${echo(prioText)} is not an integer 0-255`);
  }
  const priority = Number(prioText);
  const source = 'fifo' as const;

  if (type === 'GROUP') {
    const state = VRRP_STATE_WORDS[stateText];
    if (!state) return fail('unknown_state', `GROUP ${echo(name)}: unknown state ${echo(stateText)}`);
    // keepalived always writes 0 as a group's priority: it carries nothing, so it is not kept.
    return { ok: true, events: [{ kind: 'group', at, source, group: name, state }] };
  }
  switch (stateText) {
    case 'MASTER_PRIORITY':
    case 'BACKUP_PRIORITY':
      return { ok: true, events: [{ kind: 'priority', at, source, iname: name, priority }] };
    case 'MASTER_RX_LOWER_PRI':
      return {
        ok: true,
        events: [{ kind: 'evidence', at, source, iname: name, type: 'MASTER_RX_LOWER_PRI', ourPriority: priority }],
      };
    default: {
      const state = VRRP_STATE_WORDS[stateText];
      if (!state) return fail('unknown_state', `INSTANCE ${echo(name)}: unknown state ${echo(stateText)}`);
      return { ok: true, events: [{ kind: 'transition', at, source, iname: name, state, priority }] };
    }
  }
}

function parseChecker(type: 'VS' | 'RS', rest: string, at: number): FifoParseResult {
  const lastSp = rest.lastIndexOf(' ');
  if (lastSp === -1) return fail('missing_fields', `${type} line needs a target and UP or DOWN, got ${echo(rest)}`);
  const word = rest.slice(lastSp + 1);
  const target = rest.slice(0, lastSp).trim();
  if (word !== 'UP' && word !== 'DOWN') {
    return fail('unknown_state', `${type} ${echo(target)}: state ${echo(word)} is neither UP nor DOWN`);
  }
  if (target === '') return fail('empty_name', `${type} line has an empty target`);
  if (type === 'RS') {
    // RS <real server> <virtual server>: the real server is always [addr]:proto:port, the virtual
    // server may be "FWM <n>" (with a space), so split after the first token.
    const m = /^(\[[^\]]*\]:\S+)\s+(\S.*)$/.exec(target);
    if (!m) return fail('bad_checker', `RS line must name a real server and a virtual server, got ${echo(target)}`);
  }
  return { ok: true, events: [{ kind: 'checker', at, source: 'fifo', target, up: word === 'UP' }] };
}
