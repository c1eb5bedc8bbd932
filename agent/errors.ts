// How an error reads in a log line, a metric's reason or an API answer: the errno code when there
// is one (ENOENT, EACCES: what an operator searches for), then the message. Defined once.

/** `CODE: message` for a system error, the message for any other error, the value as text otherwise. */
export function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  if (err instanceof Error) return err.code && !err.message.startsWith(err.code) ? `${err.code}: ${err.message}` : err.message;
  return String(e);
}
