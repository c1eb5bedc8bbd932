// The kernel's IPv4 neighbour table as /proc/net/arp prints it: a header line, then
// "IP address  HW type  Flags  HW address  Mask  Device" per entry. Read to name the host behind a
// duplicate-address answer: the address this node already knows that MAC by (a peer it talks to).
// Only complete entries (flag ATF_COM, 0x2): an incomplete one has no MAC yet.

export interface Neighbour {
  ip: string;
  /** Lower case. */
  mac: string;
  dev: string;
}

const ATF_COM = 0x2;

export function parseProcNetArp(text: string): Neighbour[] {
  const out: Neighbour[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const flags = Number.parseInt(f[2], 16);
    if (!Number.isFinite(flags) || !(flags & ATF_COM)) continue;
    const mac = f[3].toLowerCase();
    if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) || mac === '00:00:00:00:00:00') continue;
    out.push({ ip: f[0], mac, dev: f[5] });
  }
  return out;
}

/** The addresses the table gives for a MAC, sorted (none when it is not there). */
export function addressesOf(table: Neighbour[], mac: string): string[] {
  const m = mac.toLowerCase();
  return [...new Set(table.filter((n) => n.mac === m).map((n) => n.ip))].sort();
}
