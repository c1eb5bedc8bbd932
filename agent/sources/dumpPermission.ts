// Why the agent cannot read one of keepalived's dumps, in words an operator can act on: the file,
// its owner and mode, who the agent runs as, and which permission is missing. keepalived writes
// its dumps root-owned with its own umask (0600 by default) into $TMPDIR (/tmp by default), so an
// unprivileged agent sees EACCES until keepalived is set up to hand them over (README, "Counters").

/** Owner and mode of a file or directory, when stat could tell. */
export interface Ownership {
  uid: number;
  gid: number;
  mode: number;
}

/** The agent's own credentials (process.getuid/getgid/getgroups by default; tests inject them). */
export interface Identity {
  uid: number;
  gid: number;
  groups: number[];
}

export function processIdentity(): Identity {
  return {
    uid: process.getuid?.() ?? -1,
    gid: process.getgid?.() ?? -1,
    groups: process.getgroups?.() ?? [],
  };
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** Which class of the mode applies to `who`, as POSIX permission checks pick it (no ACLs, no capabilities). */
function classOf(own: Ownership, who: Identity): 'owner' | 'group' | 'other' {
  if (own.uid === who.uid) return 'owner';
  if (own.gid === who.gid || who.groups.includes(own.gid)) return 'group';
  return 'other';
}

const HOW = 'give the agent read access to the dumps and nothing else: keepalived.conf `umask 0027` in global_defs, '
  + 'TMPDIR=/run/keepalived-dumps for keepalived (deploy/systemd/keepalived.service.d/keepwatch.conf), that directory '
  + 'root:keepwatch 2750 (keepwatch.tmpfiles) and keepalived.dumps.dir set to it (README, "Counters"); '
  + 'or keepalived.dumps.method: off';

/**
 * The message for EACCES on `path`: `what` is "read" for the dump itself, "search" for the
 * directory it is in. `own` is the stat of that path when it could be taken.
 */
export function dumpPermissionError(path: string, what: 'read' | 'search', who: Identity, own?: Ownership): string {
  const me = `uid ${who.uid}, gid ${who.gid}${who.groups.length ? `, groups ${who.groups.join(',')}` : ''}`;
  const perm = what === 'read' ? 'read (r)' : 'search (x)';
  if (!own) return `permission denied: the agent (${me}) lacks ${perm} permission on ${path}; ${HOW}`;
  const cls = classOf(own, who);
  return `permission denied: ${path} is uid ${own.uid} gid ${own.gid} mode ${octal(own.mode)}, and the agent (${me}) falls in its "${cls}" class, `
    + `which has no ${perm} permission; ${HOW}`;
}
