// One pass at a time, and no pass lost: a request while a pass runs asks for one more pass after
// it (many requests meanwhile are that one pass). The FIFO check and the file follower both react
// to fs.watch bursts this way.
export class CoalescedRun {
  private running: Promise<void> | undefined;
  private again = false;

  /** step: one pass; more: whether another requested pass should still run (false once stopping). */
  constructor(private readonly step: () => Promise<void>, private readonly more: () => boolean) {}

  /** Runs a pass now, or one more after the current one; resolves when the passes end. */
  request(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again && this.more());
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Asks for one more pass after the current one (from within a pass: there is more to do). */
  requestAgain(): void {
    this.again = true;
  }

  /** Waits for the current pass to end; never throws. */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}
