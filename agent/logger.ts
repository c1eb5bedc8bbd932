// pino: JSON lines by default (for journald/Loki); pretty on a terminal or when asked.
import pino, { type Logger } from 'pino';

export type LogFormat = 'json' | 'pretty' | 'auto';

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', 'pass', '*.pass', 'auth_pass', '*.auth_pass', 'auth_data', '*.auth_data',
  'token', '*.token', 'peer_token', '*.peer_token', '*.webhook_url', '*.*.webhook_url', 'authorization',
  '*.authorization', 'headers.authorization', 'secret', '*.secret', '*.*.secret',
];

export function createLogger(opts: { level?: string; format?: LogFormat; destination?: NodeJS.WritableStream } = {}): Logger {
  const format = opts.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && Boolean(process.stderr.isTTY) && !opts.destination);
  const base = { level: opts.level ?? 'info', redact: { paths: REDACT_PATHS, censor: '<secret>' } };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  }
  return pino(base, (opts.destination as pino.DestinationStream | undefined) ?? pino.destination(2));
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
