// What `arping -D -c N -w N -I <if> <vip>` (iputils) said: exit 0 = nobody answered, exit 1 = a
// host answered for the address (its MAC in "Unicast reply from 192.0.2.100 [A2:91:7F:EE:BA:BB]"),
// exit 2 = it could not probe (e.g. "arping: socket: Operation not permitted": no CAP_NET_RAW).
// Hand-rolled: a few fixed lines, no npm parser.

export interface ArpingResult {
  duplicate: boolean;
  /** MACs that answered (lower case), first first. */
  macs: string[];
  /** Set when arping could not probe; says why in an operator's words. */
  error?: string;
}

const REPLY_RE = /reply from\s+(\S+)\s+\[([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\]/g;

export function parseArpingOutput(stdout: string, stderr: string, exitCode: number | null): ArpingResult {
  const out = `${stdout ?? ''}\n${stderr ?? ''}`;
  const macs: string[] = [];
  for (const m of out.matchAll(REPLY_RE)) {
    const mac = m[2].toLowerCase();
    if (!macs.includes(mac)) macs.push(mac);
  }
  if (exitCode === 0) return { duplicate: false, macs: [] };
  if (exitCode === 1) return { duplicate: true, macs };
  const msg = (stderr || stdout || '').split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? '';
  if (/Operation not permitted|Permission denied/i.test(out)) {
    return { duplicate: false, macs: [], error: `arping has no permission to send raw packets: it needs CAP_NET_RAW (${msg})` };
  }
  return { duplicate: false, macs: [], error: `arping failed (exit ${exitCode ?? 'signal'})${msg ? `: ${msg}` : ''}` };
}
