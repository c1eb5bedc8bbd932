import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError, loadConfigFile, parseConfig } from '../../../agent/config/load';

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'test.yml', env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('config', () => {
  test('a minimal config is just the node name, with defaults for the rest', () => {
    const c = parseConfig('node: ka1\n');
    expect(c.node).toBe('ka1');
    expect(c.keepalived.dbus).toBe('system');
    expect(c.keepalived.config).toBe('/etc/keepalived/keepalived.conf');
    expect(c.web.listen_address).toBe(':9723');
    expect(c.rules.no_master_for).toBe(5000);
  });

  test('durations parse to milliseconds', () => {
    const c = parseConfig('node: a\nprobes: {vip: {interval: 500ms, timeout: 2}}\nrules: {no_master_for: 1m}\n');
    expect(c.probes.vip?.interval).toBe(500);
    expect(c.probes.vip?.timeout).toBe(2000);
    expect(c.rules.no_master_for).toBe(60_000);
  });

  test('every problem is listed as path: message', () => {
    const p = problems('node: "a b"\nkeepalived: {notify_fifo: relative, bogus: 1}\nweb: {listen_address: nope}\nprobes: {vip: {interval: 5x}}\n');
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^node: /),
        expect.stringMatching(/^keepalived\.notify_fifo: must be an absolute path/),
        expect.stringMatching(/^keepalived: Unrecognized key.*bogus/),
        expect.stringMatching(/^web\.listen_address: must be HOST:PORT/),
        expect.stringMatching(/^probes\.vip\.interval: not a duration/),
      ]),
    );
    expect(p).toHaveLength(5);
  });

  test('rules.flapping: MASTER changes within a window; the Nagios keys are errors naming the new ones', () => {
    expect(parseConfig('node: a\n').rules.flapping).toEqual({ changes: 3, window: 300_000, quiet: 120_000 });
    expect(parseConfig('node: a\nrules: {flapping: {changes: 4, window: 10m, quiet: 1m}}\n').rules.flapping).toEqual({ changes: 4, window: 600_000, quiet: 60_000 });
    expect(problems('node: a\nrules: {flapping: {high_threshold: 20, low_threshold: 5, horizon: 10m}}\n')).toEqual([
      'rules.flapping: high_threshold, low_threshold, horizon: removed (the Nagios score is gone); Flapping counts MASTER changes: set changes (default 3), window (default 5m) and quiet (default 2m)',
    ]);
    expect(problems('node: a\nrules: {flapping: {window: 21}}\n')).toEqual([expect.stringMatching(/^rules\.flapping: window: 21 looks like the old Nagios window of states; window is now a duration \(e\.g\. 5m\)/)]);
    expect(problems('node: a\nrules: {flapping: {changes: 1}}\n')).toEqual([expect.stringMatching(/^rules\.flapping\.changes: /)]);
  });

  test('${ENV} is substituted in values; a missing variable is named with its key', () => {
    const c = parseConfig('node: a\npeer_token: ${TOKEN}\n', 'f', { TOKEN: 'x'.repeat(20) });
    expect(c.peer_token).toBe('x'.repeat(20));
    expect(problems('node: a\npeer_token: ${NOPE}\n')).toContain('peer_token: environment variable NOPE is not set');
  });

  test("keepalived.check_script (the keepalived exporter's --ka.check-script): an absolute path and arguments, no ${ENV} in them", () => {
    expect(parseConfig('node: a\nkeepalived: {check_script: {command: [/usr/local/bin/check-vip, --port, "80"]}}\n').keepalived.check_script).toEqual({
      command: ['/usr/local/bin/check-vip', '--port', '80'],
      timeout: 5_000,
      interval: 15_000,
    });
    expect(problems('node: a\nkeepalived: {check_script: {command: [check-vip]}}\n')).toEqual(['keepalived.check_script.command.0: must be an absolute path']);
    expect(problems('node: a\nkeepalived: {check_script: {command: []}}\n')).toHaveLength(1);
    expect(problems('node: a\nkeepalived: {check_script: {command: [/c], timeout: 20s, interval: 10s}}\n')).toEqual([
      'keepalived.check_script.interval: must be at least the timeout (20000ms): a run may last that long',
    ]);
    // A secret expanded into a command line would be in every process listing.
    const refused = problems('node: a\nkeepalived: {check_script: {command: [/c, "--token=${TOKEN}"]}}\n', { TOKEN: 'hunter2hunter2' });
    expect(refused).toEqual(['keepalived.check_script.command.1: ${...} is not expanded in a command line (visible to every user): let the script read what it needs from a file']);
    expect(refused.join('\n')).not.toContain('hunter2');
  });

  test('YAML syntax errors give line and column', () => {
    expect(problems('node: a\nweb: {listen_address: [\n')[0]).toMatch(/^line \d+ column \d+: /);
  });

  test('an unreadable file is a ConfigError, not a crash', () => {
    expect(() => loadConfigFile('/nonexistent/keepwatch.yml')).toThrow(ConfigError);
    const dir = mkdtempSync(join(tmpdir(), 'kwcfg-'));
    writeFileSync(join(dir, 'k.yml'), 'node: ka2\n');
    expect(loadConfigFile(join(dir, 'k.yml')).node).toBe('ka2');
  });

  test('secrets do not appear in error messages', () => {
    const p = problems('node: a\npeer_token: short-secret\n');
    expect(p.join('\n')).not.toContain('short-secret');
  });

  test('no input makes the loader throw anything but ConfigError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          parseConfig(text);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});

test('a YAML alias to a missing anchor is a ConfigError', () => {
  expect(() => parseConfig('*!')).toThrow(ConfigError);
  expect(() => parseConfig('node: *nope\n')).toThrow(ConfigError);
});
