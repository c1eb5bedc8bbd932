// nginx stub_status page to NginxStatus. Hand-rolled: the page is four fixed lines that nginx pads
// with stray spaces ("Active connections: 291 \n ... \n 16630948 16630948 31070465 \n"); the nginx
// exporter itself scans it with a format template, and no npm package parses it.
import type { NginxStatus } from '../../state/types';

export type StubStatusResult = { ok: true; status: NginxStatus } | { ok: false; error: string };

const STUB_RE =
  /^\s*Active connections:\s*(\d+)\s+server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)\s+Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)\s*$/;

/** Parses a stub_status body (any whitespace, CRLF, missing final newline). Never throws. */
export function parseStubStatus(body: string): StubStatusResult {
  if (typeof body !== 'string') return { ok: false, error: 'stub_status: no body' };
  const m = STUB_RE.exec(body.length > 4096 ? '' : body);
  if (!m) {
    const head = body.slice(0, 60).replace(/\s+/g, ' ').trim();
    return { ok: false, error: `stub_status: not a stub_status page (starts "${head}")` };
  }
  const n = m.slice(1).map(Number);
  return { ok: true, status: { active: n[0], accepted: n[1], handled: n[2], requests: n[3], reading: n[4], writing: n[5], waiting: n[6] } };
}

/** The page as nginx writes it (tests, round trip). */
export function formatStubStatus(s: NginxStatus): string {
  return `Active connections: ${s.active} \nserver accepts handled requests\n ${s.accepted} ${s.handled} ${s.requests} \nReading: ${s.reading} Writing: ${s.writing} Waiting: ${s.waiting} \n`;
}
