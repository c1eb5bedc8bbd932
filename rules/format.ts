// How the rules name a VRID, in labels and in words, so that every rule labels and words the same
// VRID the same way (one fingerprint per condition whichever agent finds it).
import { vridKey, type ClusterVrid } from '../agent/state/cluster';

/** Labels naming a VRID: vrid, plus family for IPv6 (VRRPv3 VRIDs are a separate space). */
export function vridLabels(v: Pick<ClusterVrid, 'vrid' | 'family' | 'key'>, iname?: string): Record<string, string> {
  const l: Record<string, string> = { vrid: v.vrid ? String(v.vrid) : v.key };
  if (v.family === 'IPv6') l.family = 'IPv6';
  if (iname) l.iname = iname;
  return l;
}

/** The VRID key (ClusterVrid.key) of labels made by vridLabels: an alert back to its VRID. */
export function vridKeyOfLabels(l: Record<string, string>): string {
  const vrid = Number(l.vrid);
  if (!Number.isInteger(vrid) || vrid <= 0) return l.vrid;
  return vridKey({ vrid, family: l.family === 'IPv6' ? 'IPv6' : 'IPv4', iname: l.iname ?? '' });
}

/** The instance name to label a VRID with: ours when we have one, else the first member's. */
export function inameOf(v: ClusterVrid, self: string): string {
  return (v.members.find((m) => m.node === self) ?? v.members[0])?.iname ?? '';
}

/** "VRID 51", "VRID 51 (IPv6)", or "instance VI_1 (VRID not known yet)". */
export function describeVrid(v: Pick<ClusterVrid, 'vrid' | 'family' | 'key'>): string {
  if (!v.vrid) return `instance ${v.key.slice(1)} (VRID not known yet)`;
  return `VRID ${v.vrid}${v.family === 'IPv6' ? ' (IPv6)' : ''}`;
}

/** The VRID of an alert's labels in words, for its resolved notice (the VRID may be gone by then). */
export function describeVridLabels(l: Record<string, string>): string {
  return `VRID ${l.vrid}${l.family === 'IPv6' ? ' (IPv6)' : ''}`;
}

/** "ka1", "ka1 and ka2", "ka1, ka2 and ka3". */
export function andList(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
