// Tests that need something of the machine (root, a binary, the lab's namespaces), gated in one
// way: when a need is not met, the tests are registered with describe.skip/test.skip (so jest
// counts them as skipped, never as passed), their title carries the reason ("[SKIPPED: ...]", which
// test/run-all.sh lists at the end), and the reason is printed once per file. As root, what
// `npm test` installs (scripts/setup.sh) must be there: a need marked requiredAsRoot (the lab, say)
// that is missing makes a failing test instead of a skip.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { labSupported, which } from '../lab/lab';

/** Something a test needs of the machine; `missing` says why it is not there (undefined: it is). */
export interface Need {
  what: string;
  missing?: string;
  /** As root, missing it is a failure (npm test installs it as root), not a skip. */
  requiredAsRoot?: boolean;
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export const needs = {
  root(why = 'network namespaces, chown, another uid'): Need {
    return { what: `root (${why})`, missing: isRoot() ? undefined : 'not running as root' };
  },
  /** A command on PATH; `install` says where it comes from. */
  command(name: string, install?: string): Need {
    return { what: name, missing: commandPath(name) ? undefined : `${name} not installed${install ? ` (${install})` : ''}` };
  },
  /** One of these files exists (a binary at a fixed path). */
  file(paths: string | string[], install?: string): Need {
    const list = typeof paths === 'string' ? [paths] : paths;
    return { what: list[0], missing: firstFile(list) ? undefined : `${list.join(' or ')} not found${install ? ` (${install})` : ''}` };
  },
  /** A condition the caller computed, with what is missing when it is false. */
  that(ok: boolean, what: string, missing: string): Need {
    return { what, missing: ok ? undefined : missing };
  },
};

/** The same need, but a failure when it is missing as root. */
export const requiredAsRoot = (n: Need): Need => ({ ...n, requiredAsRoot: true });

/** The path of a command on PATH (or in /usr/sbin, /sbin), or undefined. */
export const commandPath = which;

/** The first of these files that exists, or undefined. */
export function firstFile(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

/** Why these needs are not met ('' when they all are). */
export function unmet(list: Need[]): string {
  return list.filter((n) => n.missing).map((n) => n.missing).join('; ');
}

/** As root: why the needs that must be there are not (undefined when they are, or not root). */
function missingAsRoot(list: Need[]): string | undefined {
  const missing = isRoot() ? list.filter((n) => n.missing && n.requiredAsRoot) : [];
  return missing.length ? `running as root (as npm test does), this must run, but it cannot: ${missing.map((n) => `${n.what}: ${n.missing}`).join('; ')}` : undefined;
}

const said = new Set<string>();

function testFile(): string {
  const p = expect.getState().testPath;
  return p ? relative(process.cwd(), p) : 'this file';
}

/** Prints a skip reason once per file (jest loads each file's modules afresh). */
function sayOnce(reason: string, name: string): void {
  if (said.has(reason)) return;
  said.add(reason);
  process.stderr.write(`\n!!! SKIPPED in ${testFile()}: "${name}" and any other test needing the same: ${reason} !!!\n\n`);
}

const skippedTitle = (name: string, reason: string) => `${name} [SKIPPED: ${reason}]`;

/** describe when every need is met; otherwise describe.skip, the reason in its title and printed once. */
export function describeNeeding(list: Need[], name: string, fn: () => void): void {
  const fatal = missingAsRoot(list);
  if (fatal) {
    describe(name, () => {
      test('has what it needs', () => {
        throw new Error(fatal);
      });
    });
    return;
  }
  const reason = unmet(list);
  if (!reason) return describe(name, fn);
  sayOnce(reason, name);
  describe.skip(skippedTitle(name, reason), fn);
}

/** test when every need is met; otherwise test.skip, the reason in its title and printed once. */
export function testNeeding(list: Need[], name: string, fn: jest.ProvidesCallback, timeoutMs?: number): void {
  const fatal = missingAsRoot(list);
  if (fatal) {
    test(name, () => {
      throw new Error(fatal);
    });
    return;
  }
  const reason = unmet(list);
  if (!reason) return test(name, fn, timeoutMs);
  sayOnce(reason, name);
  test.skip(skippedTitle(name, reason), fn, timeoutMs);
}

/** The lab (test/lab/lab.ts) can start here; required as root. */
export function labNeed(): Need {
  const lab = labSupported();
  return requiredAsRoot({ what: 'the lab (network namespaces)', missing: lab.ok ? undefined : lab.why });
}

/**
 * A describe block on the lab, plus any other needs. Not root: skipped as describeNeeding does. As
 * root the lab must be able to start, so a lab that cannot (a missing command) is a failing test
 * saying why, not a skip that would let `npm test` pass without the lab.
 */
export function describeLab(name: string, fn: () => void, more: Need[] = []): void {
  describeNeeding([labNeed(), ...more], name, fn);
}
