// A manual clock for unit tests: time moves only when the test says so, timers fire in order.
import type { Clock } from '../../agent/context';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

export class FakeClock implements Clock {
  private t: number;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(start = Date.UTC(2026, 10, 25, 12, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id as unknown as NodeJS.Timeout;
  }

  clearTimeout(t: NodeJS.Timeout | undefined): void {
    this.timers = this.timers.filter((x) => x.id !== (t as unknown as number));
  }

  setInterval(fn: () => void, ms: number): NodeJS.Timeout {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + ms, fn, every: Math.max(1, ms) });
    return id as unknown as NodeJS.Timeout;
  }

  clearInterval(t: NodeJS.Timeout | undefined): void {
    this.clearTimeout(t);
  }

  /** Moves time forward by ms, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.t = next.at;
      if (next.every) next.at += next.every;
      else this.timers.shift();
      next.fn();
    }
    this.t = end;
  }

  /** Number of pending timers (to check that components clean up). */
  pending(): number {
    return this.timers.length;
  }
}
