// What the FIFO and log parsers share: keepalived's VRRP state words and how a bad input is
// quoted back in an error (bounded, so a flood of long lines never floods the log).
import type { VrrpState } from '../../state/types';

/** keepalived's VRRP state words, as it writes them on the FIFO and in its log. */
export const VRRP_STATE_WORDS: Readonly<Record<string, VrrpState>> = {
  MASTER: 'MASTER',
  BACKUP: 'BACKUP',
  FAULT: 'FAULT',
  INIT: 'INIT',
  STOP: 'STOP',
  DELETED: 'DELETED',
};

/** Longest input quoted back in an error. */
const ECHO_MAX = 80;

/** The input, quoted and cut at ECHO_MAX characters. */
export function echo(s: string): string {
  return JSON.stringify(s.length > ECHO_MAX ? `${s.slice(0, ECHO_MAX)}…` : s);
}
