// What agents send each other: the node's whole state (NodeState is plain JSON by design) with
// the sender's clock. A peer is another machine, so what arrives is untrusted input: it is
// checked against the shape the rules rely on before anything reads it. The schema is loose
// (unknown keys pass) so that agents of a newer version can talk to older ones.
import { z } from 'zod';
import type { NodeState } from '../state/types';

export const PEER_PROTOCOL_VERSION = 1;

export interface PeerMessage {
  v: number;
  /** The sender's clock when it sent this (for clock-skew estimates). */
  sentAt: number;
  state: NodeState;
}

const vrrpState = z.enum(['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP', 'DELETED', 'UNKNOWN']);
const ms = z.number().finite();
const name = z.string().max(256);

const instanceSchema = z.looseObject({
  iname: name,
  intf: z.string().max(64),
  vrid: z.number().int().min(0).max(255),
  family: z.enum(['IPv4', 'IPv6']),
  state: vrrpState,
  since: ms,
  priority: z.number().optional(),
  effectivePriority: z.number().optional(),
  vips: z.array(z.string().max(64)).max(256),
  advertIntervalMs: z.number().optional(),
  authType: z.string().max(32).optional(),
  nopreempt: z.boolean().optional(),
  preemptDelayS: z.number().optional(),
  syncGroup: z.string().max(256).optional(),
  lastEvidence: z.looseObject({ type: z.string().max(64), at: ms, count: z.number() }).optional(),
});

const probeResult = z.looseObject({ up: z.boolean(), at: ms });

const nodeStateSchema = z.looseObject({
  node: z.string().min(1).max(256),
  revision: z.number().int().min(0),
  bootAt: ms,
  keepalived: z.looseObject({ up: z.boolean(), since: ms }),
  instances: z.record(name, instanceSchema),
  groups: z.record(name, z.looseObject({ state: vrrpState, since: ms })).default({}),
  scripts: z.record(name, z.looseObject({ good: z.boolean() })).default({}),
  vips: z.record(z.string().max(512), z.looseObject({ iname: name, vip: z.string().max(64), intf: z.string().max(64).nullable(), since: ms })),
  nginx: z.looseObject({
    health: z.record(z.string().max(128), probeResult).default({}),
    status: probeResult.optional(),
    process: probeResult.optional(),
    config: z.looseObject({ valid: z.boolean(), at: ms, hash: z.string().max(128).optional() }).optional(),
  }),
  timeline: z.array(z.looseObject({ at: ms, iname: name, from: vrrpState, to: vrrpState })).max(10_000),
  // The Failover rule reads the new master's outage measurement (agent/state/failoverOutage.ts).
  failovers: z
    .array(
      z.looseObject({
        id: z.string().max(128),
        vrid: z.string().max(32),
        node: name,
        from: name.optional(),
        masterAt: ms,
        loss: z.looseObject({ at: ms, kind: z.enum(['keepalived_left', 'fault', 'released', 'last_advert']), masterDownMs: ms.optional(), cause: z.string().max(512).optional(), vipLeftBound: z.boolean().optional(), stillAnswered: z.boolean().optional() }),
        vipBoundAt: ms.optional(),
        firstGoodAt: ms.optional(),
        done: z.boolean(),
      }),
    )
    .max(100)
    .optional(),
});

const messageSchema = z.looseObject({ v: z.number().int(), sentAt: ms, state: nodeStateSchema });

export type ParsedPeerMessage = { ok: true; message: PeerMessage } | { ok: false; error: string };

/** Parses and checks one message; never throws. Caps on sizes keep a hostile peer's memory bounded. */
export function parsePeerMessage(text: string): ParsedPeerMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  const r = messageSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, error: `bad peer state at ${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  // A newer sender (v > 1) keeps the v1 fields: we read what we understand.
  return { ok: true, message: r.data as unknown as PeerMessage };
}

export function encodePeerMessage(state: Readonly<NodeState>, now: number): string {
  return JSON.stringify({ v: PEER_PROTOCOL_VERSION, sentAt: now, state });
}
