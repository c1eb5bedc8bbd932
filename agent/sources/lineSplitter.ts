// Cuts a byte stream into lines. A partial last line is carried to the next chunk; a line longer
// than maxLineBytes is reported once and skipped up to its newline, so a writer that never sends
// '\n' costs a bounded amount of memory. Splitting is on bytes (0x0A), decoding per line, so a
// multi-byte UTF-8 character split across two reads is decoded whole.

export interface LineSplitterOptions {
  maxLineBytes: number;
  onLine(line: string): void;
  /** Called once per overlong line, as soon as it passes the bound, with its first bytes. */
  onOverlong(head: string): void;
}

const HEAD_BYTES = 120;

export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private discarding = false;

  constructor(private readonly opts: LineSplitterOptions) {}

  /** Bytes held for an unfinished line (0 when the stream ended on a newline). */
  get pendingBytes(): number {
    return this.partBytes;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.discarding) {
        const len = end - start;
        if (this.partBytes + len > this.opts.maxLineBytes) {
          const head = Buffer.concat([...this.parts, chunk.subarray(start, Math.min(end, start + HEAD_BYTES))]).subarray(0, HEAD_BYTES);
          this.parts = [];
          this.partBytes = 0;
          this.discarding = true;
          this.opts.onOverlong(head.toString('utf8'));
        } else if (nl !== -1) {
          const line = this.partBytes === 0
            ? chunk.toString('utf8', start, end)
            : Buffer.concat([...this.parts, chunk.subarray(start, end)]).toString('utf8');
          this.parts = [];
          this.partBytes = 0;
          this.opts.onLine(stripCr(line));
        } else if (len > 0) {
          // Copied: the caller may reuse its buffer for the next read.
          this.parts.push(Buffer.from(chunk.subarray(start, end)));
          this.partBytes += len;
        }
      }
      if (nl === -1) break;
      this.discarding = false;
      start = nl + 1;
    }
  }

  /** Emits an unfinished line as a line (the stream ended or switched files), and resets. */
  flush(): void {
    if (this.partBytes > 0 && !this.discarding) {
      const line = Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.partBytes = 0;
      this.opts.onLine(stripCr(line));
    }
    this.reset();
  }

  /** Forgets an unfinished line. */
  reset(): void {
    this.parts = [];
    this.partBytes = 0;
    this.discarding = false;
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
