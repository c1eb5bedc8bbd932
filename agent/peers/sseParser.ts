// Server-sent events framing for the peer stream, with a hard cap on the size of one event.
// Hand-rolled (the format is a few lines of framing) because the EventSource packages buffer an
// event without limit: a peer that never ends an event must cost at most maxEventBytes.

export type SseItem = { kind: 'event'; event: string; data: string } | { kind: 'comment'; text: string };

export class SseTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`event larger than ${limit} bytes`);
  }
}

export class SseParser {
  private buf = '';
  /** Where the search for the end of the current event resumes (no rescans of a dripped event). */
  private scanFrom = 0;

  constructor(private readonly maxEventBytes: number) {}

  /** Feeds a chunk (already decoded as UTF-8); returns complete items. Throws SseTooLargeError. */
  push(chunk: string): SseItem[] {
    this.buf += chunk.includes('\r') ? chunk.replace(/\r\n?/g, '\n') : chunk;
    const out: SseItem[] = [];
    for (;;) {
      const end = this.buf.indexOf('\n\n', Math.max(0, this.scanFrom - 1));
      if (end < 0) {
        this.scanFrom = this.buf.length;
        if (this.buf.length > this.maxEventBytes) throw new SseTooLargeError(this.maxEventBytes);
        return out;
      }
      if (end > this.maxEventBytes) throw new SseTooLargeError(this.maxEventBytes);
      const block = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 2);
      this.scanFrom = 0;
      const item = parseBlock(block);
      if (item) out.push(item);
    }
  }

  /** Bytes held for an incomplete event. */
  get pending(): number {
    return this.buf.length;
  }
}

function parseBlock(block: string): SseItem | undefined {
  let event = 'message';
  const data: string[] = [];
  const comments: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '') continue;
    if (line.startsWith(':')) {
      comments.push(line.slice(1).trimStart());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    // id and retry are not used by the peer protocol.
  }
  if (data.length) return { kind: 'event', event, data: data.join('\n') };
  if (comments.length) return { kind: 'comment', text: comments.join('\n') };
  return undefined;
}
