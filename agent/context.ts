// What every component gets instead of reaching for globals: the clock, timers and the logger.
// Tests pass a fake clock; the e2e tests pass the real one with lab paths in the config.
import type { Logger } from 'pino';

export interface Clock {
  /** ms since epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(t: NodeJS.Timeout | undefined): void;
  setInterval(fn: () => void, ms: number): NodeJS.Timeout;
  clearInterval(t: NodeJS.Timeout | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (t) => clearInterval(t),
};

export interface Ctx {
  clock: Clock;
  log: Logger;
}
