// Silences on the peer stream (`event: silences`): the sender's whole set when a stream opens, then
// each change as it happens. Agents of an older version skip the event type. A set is cut into
// events of at most SILENCE_EVENT_BYTES so that none reaches the stream's cap on one event, however
// many silences there are. What arrives is untrusted: the shape is checked here, the content (the
// matchers compile, nothing from the future) when the silences merge (agent/alerting/silences.ts).
import { z } from 'zod';
import type { Silence } from '../alerting/silences';

export const SILENCE_EVENT = 'silences';
export const SILENCE_EVENT_BYTES = 256 * 1024;

export interface SilenceMessage {
  v: number;
  sentAt: number;
  /** The sender's node name (bound to the peer like a state's). */
  node: string;
  /** True for the whole set (a stream opening), false for changes. */
  full: boolean;
  silences: Silence[];
}

const ms = z.number().finite();
const matcher = z.looseObject({ name: z.string().max(256), value: z.string().max(2048), isRegex: z.boolean(), isEqual: z.boolean().optional() });
const silence = z.looseObject({
  id: z.string().min(1).max(128),
  matchers: z.array(matcher).min(1).max(64),
  startsAt: ms,
  endsAt: ms,
  updatedAt: ms,
  createdBy: z.string().max(2000),
  comment: z.string().max(2000),
});
const messageSchema = z.looseObject({ v: z.number().int(), sentAt: ms, node: z.string().min(1).max(256), full: z.boolean(), silences: z.array(silence).max(10_000) });

export type ParsedSilenceMessage = { ok: true; message: SilenceMessage } | { ok: false; error: string };

export function parseSilenceMessage(text: string): ParsedSilenceMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `silences: not JSON: ${(e as Error).message}` };
  }
  const r = messageSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, error: `bad peer silences at ${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  return { ok: true, message: r.data as unknown as SilenceMessage };
}

/** The SSE events (`event: silences` frames) carrying these silences, each under SILENCE_EVENT_BYTES. */
export function encodeSilenceEvents(node: string, silences: readonly Silence[], full: boolean, now: number, maxBytes = SILENCE_EVENT_BYTES): string[] {
  const frame = (list: string[]) => `event: ${SILENCE_EVENT}\ndata: {"v":1,"sentAt":${now},"node":${JSON.stringify(node)},"full":${full},"silences":[${list.join(',')}]}\n\n`;
  const out: string[] = [];
  let batch: string[] = [];
  let size = 0;
  for (const s of silences) {
    const text = JSON.stringify(s);
    if (batch.length && size + text.length > maxBytes) {
      out.push(frame(batch));
      batch = [];
      size = 0;
    }
    batch.push(text);
    size += text.length + 1;
  }
  // A full set is sent even when empty: the peer knows the stream carries silences.
  if (batch.length || (full && !out.length)) out.push(frame(batch));
  return out;
}
