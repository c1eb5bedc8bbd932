// Request authentication: bearer tokens compared in constant time, basic auth against bcrypt
// hashes (exporter-toolkit's basic_auth_users). A cache of verified credentials keeps bcrypt's
// deliberate slowness off the scrape path (Prometheus sends the same credentials every scrape).
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time: hashing first makes lengths equal, so nothing leaks through early exit. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

export function checkBearer(header: string | undefined, tokens: string[]): boolean {
  if (!header || tokens.length === 0) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  let ok = false;
  for (const t of tokens) ok = safeEqual(m[1], t) || ok; // no early exit
  return ok;
}

const verified = new Map<string, boolean>(); // sha256(user:pass:hash) -> result
const MAX_CACHE = 256;

export async function checkBasicAuth(header: string | undefined, users: Record<string, string>): Promise<boolean> {
  if (!header) return false;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = decoded.slice(0, colon);
  const pass = decoded.slice(colon + 1);
  const hash = Object.prototype.hasOwnProperty.call(users, user) ? users[user] : undefined;
  if (hash === undefined) return false;
  const key = sha256(`${user}\u0000${pass}\u0000${hash}`).toString('hex');
  const cached = verified.get(key);
  if (cached !== undefined) return cached;
  const ok = await bcrypt.compare(pass, hash);
  if (verified.size >= MAX_CACHE) verified.clear();
  verified.set(key, ok);
  return ok;
}
