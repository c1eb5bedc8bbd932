// Tests that need something of the machine (root, a binary, the lab's namespaces), gated in one
// way: when a need is not met, the tests are registered with describe.skip/test.skip (so jest
// counts them as skipped, never as passed), their title carries the reason ("[SKIPPED: ...]", which
// test/run-all.sh lists at the end), and the reason is printed once per file. As root the lab is
// expected to start: a lab test whose lab cannot start fails instead of skipping.
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { labSupported, which } from '../lab/lab';

/** Something a test needs of the machine; `missing` says why it is not there (undefined: it is). */
export interface Need {
  what: string;
  missing?: string;
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

const said = new Set<string>();

function testFile(): string {
  const p = expect.getState().testPath;
  return p ? relative(process.cwd(), p) : 'this file';
}

/** Prints a skip reason once per file (jest loads each file's modules afresh). */
function sayOnce(reason: string, name: string): void {
  if (said.has(reason)) return;
  said.add(reason);
  console.warn(`\n!!! SKIPPED in ${testFile()}: "${name}" and any other test needing the same: ${reason} !!!\n`);
}

const skippedTitle = (name: string, reason: string) => `${name} [SKIPPED: ${reason}]`;

/** describe when every need is met; otherwise describe.skip, the reason in its title and printed once. */
export function describeNeeding(list: Need[], name: string, fn: () => void): void {
  const reason = unmet(list);
  if (!reason) return describe(name, fn);
  sayOnce(reason, name);
  describe.skip(skippedTitle(name, reason), fn);
}

/** test when every need is met; otherwise test.skip, the reason in its title and printed once. */
export function testNeeding(list: Need[], name: string, fn: jest.ProvidesCallback, timeoutMs?: number): void {
  const reason = unmet(list);
  if (!reason) return test(name, fn, timeoutMs);
  sayOnce(reason, name);
  test.skip(skippedTitle(name, reason), fn, timeoutMs);
}

/**
 * A describe block on the lab (test/lab/lab.ts), plus any other needs. Not root: skipped as
 * describeNeeding does. As root the lab must be able to start, so a lab that cannot (a missing
 * command) is a failing test saying why, not a skip that would pass `npm test` without the lab.
 */
export function describeLab(name: string, fn: () => void, more: Need[] = []): void {
  const lab = labSupported();
  const labNeed: Need = { what: 'the lab (network namespaces)', missing: lab.ok ? undefined : lab.why };
  if (isRoot() && !lab.ok) {
    describe(name, () => {
      test('the lab starts', () => {
        throw new Error(`running as root, but the lab cannot start: ${lab.why}`);
      });
    });
    return;
  }
  describeNeeding([labNeed, ...more], name, fn);
}
