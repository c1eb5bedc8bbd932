// /metrics in gzip for a scraper that accepts it, as Prometheus's client libraries answer
// (Prometheus sends `Accept-Encoding: gzip`; the text format shrinks about tenfold). Compressed at
// zlib's fastest level in libuv's thread pool, so the event loop stays free while an 800 KB answer
// is compressed, and once per answer: a reused answer (the same buffer) reuses its gzip, and
// scrapes that arrive together share one compression.
import { constants, gzip } from 'node:zlib';
import type { IncomingHttpHeaders } from 'node:http';
import Negotiator from 'negotiator';

/** The request's Accept-Encoding takes gzip over identity (none, `identity`, `gzip;q=0`: no). */
export function acceptsGzip(headers: IncomingHttpHeaders): boolean {
  return new Negotiator({ headers }).encoding(['gzip', 'identity']) === 'gzip';
}

function gzipFast(input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => gzip(input, { level: constants.Z_BEST_SPEED }, (e, out) => (e ? reject(e) : resolve(out))));
}

/** The gzip of the latest answer, kept while the answer is the same buffer. */
export class GzipAnswers {
  private last?: { source: Buffer; gz: Promise<Buffer> };

  get(answer: Buffer): Promise<Buffer> {
    if (this.last?.source === answer) return this.last.gz;
    const gz = gzipFast(answer);
    this.last = { source: answer, gz };
    // A failed compression is not kept: the next scrape tries again (the caller answers uncompressed).
    gz.catch(() => {
      if (this.last?.gz === gz) this.last = undefined;
    });
    return gz;
  }
}
