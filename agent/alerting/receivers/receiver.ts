// What every receiver is: a name and a send() that either resolves (the receiver accepted the
// notification: the outbox may forget it) or throws a ReceiverError saying whether trying again
// can help. Receivers never log or throw their secrets (webhook URLs, passwords, tokens): errors
// name the receiver and what happened, not where it was sent. Every receiver factory has one
// shape: (its config, ReceiverDeps) -> Receiver.
import type { Clock } from '../../context';
import type { Notification } from '../notification';
import type { ThreadStore } from './threads';

export interface SendResult {
  /** Accepted, but do not send the next notification to this receiver before this many ms. */
  retryAfterMs: number;
}

export interface Receiver {
  readonly name: string;
  readonly type: string;
  send(notification: Notification, signal: AbortSignal): Promise<void | SendResult>;
  /** Releases connections (SMTP pools, timers). */
  close?(): Promise<void>;
}

/** What a receiver factory gets besides its config. */
export interface ReceiverDeps {
  /** Time and timers (send deadlines, Retry-After dates, when a thread was last written). */
  clock: Clock;
  /** Where receivers that thread an incident's notices (email, Slack) keep their threads; default in memory. */
  threads?: ThreadStore;
  /** For secret files read when a receiver is built ($CREDENTIALS_DIRECTORY); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export class ReceiverError extends Error {
  constructor(
    message: string,
    /** false: the receiver refused this notification for good (e.g. HTTP 400, SMTP 550); sending it again cannot help. */
    readonly retryable: boolean,
    /** The receiver asked to wait this long (HTTP 429/503 Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ReceiverError';
  }
}

/** One line, short, printable: response bodies go into errors, and errors into logs. */
export function sanitize(text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 200);
}
