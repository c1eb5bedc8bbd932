// Seventy real keepalived.conf files (MANIFEST.tsv says where each comes from) against keepalived
// 2.2.7's own reading of them (EXPECTED.json: `keepalived -t` and the instances it would run,
// extracted independently of keepwatch). Every fact EXPECTED records is compared; a file agrees when
// none differs. The corpus directory is injectable (KEEPWATCH_KEEPALIVED_CORPUS) so a newer corpus
// can be checked without copying it in.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseKeepalivedConf } from '../../../agent/keepalived/confParser';
import type { KeepalivedConf } from '../../../agent/keepalived/confTypes';

const CORPUS = process.env.KEEPWATCH_KEEPALIVED_CORPUS ?? path.join(__dirname, '../../fixtures/keepalived-corpus');

interface ExpectedInstance {
  name: string;
  vrid: number | null;
  state: 'MASTER' | 'BACKUP';
  priority: number;
  interface: string | null;
  family: 'IPv4' | 'IPv6';
  vips: string[];
  dropped_vips: string[];
  peers: string[];
  sync_group: string | null;
  auth_type: string;
  advert_int_s: number;
  nopreempt: boolean;
  preempt_delay_s: number;
  vrrp_version: number;
  fails: string | null;
}

interface ExpectedFile {
  keepalived: { rc: number; verdict: 'ok' | 'ok-env' | 'errors' | 'refused'; messages: Array<{ msg: string; class: string }> };
  extracted: {
    files: string[];
    fatal: string | null;
    globals: { vrrp_version: number; vrrp_strict: boolean };
    vrrp_runs: boolean;
    vrrp_stops_because: string[];
    instances: ExpectedInstance[];
    sync_groups: Record<string, string[]>;
    unknown_keywords_vrrp_view: Array<[string, number, string]>;
    notes: string[];
  };
  auth_pass_values: string[];
}

interface Expected {
  keepalived_version: string;
  config_id: string;
  files: Record<string, ExpectedFile>;
}

const expected = JSON.parse(fs.readFileSync(path.join(CORPUS, 'EXPECTED.json'), 'utf8')) as Expected;
const manifest = fs
  .readFileSync(path.join(CORPUS, 'MANIFEST.tsv'), 'utf8')
  .split('\n')
  .slice(1)
  .filter((l) => l.trim() !== '')
  .map((l) => l.split('\t')[0]);

const rel = (f: string): string => path.relative(CORPUS, f);

/** What keepwatch read, in EXPECTED's shape and with keepalived's defaults spelled out. */
function observed(conf: KeepalivedConf): ExpectedFile['extracted'] {
  const fatal = conf.fatal ? `${rel(conf.fatal.file)}:${conf.fatal.line}: ${conf.fatal.message}` : null;
  const stops = [...(fatal ? [fatal] : []), ...conf.instances.filter((i) => i.fails).map((i) => `${i.name}: ${i.fails}`)];
  return {
    files: conf.files.map(rel),
    fatal,
    globals: { vrrp_version: conf.globalDefs.vrrpVersion ?? 2, vrrp_strict: conf.globalDefs.vrrpStrict },
    vrrp_runs: stops.length === 0,
    vrrp_stops_because: stops,
    instances: conf.instances.map((i) => ({
      name: i.name,
      vrid: i.virtualRouterId ?? null,
      state: i.state,
      priority: i.priority,
      interface: i.interface ?? null,
      family: i.family,
      vips: i.vips.map((v) => v.address),
      dropped_vips: i.droppedVips.map((v) => v.address),
      peers: i.unicastPeers,
      sync_group: i.syncGroup ?? null,
      auth_type: i.authType ?? 'NONE',
      advert_int_s: i.advertIntS,
      nopreempt: i.nopreempt,
      preempt_delay_s: i.preemptDelayS ?? 0,
      vrrp_version: i.vrrpVersion,
      fails: i.fails ?? null,
    })),
    sync_groups: Object.fromEntries(conf.syncGroups.map((g) => [g.name, g.instances])),
    unknown_keywords_vrrp_view: conf.issues
      .filter((i) => i.code === 'unknown-keyword' && i.keyword !== undefined)
      .map((i) => [rel(i.file), i.line, i.keyword as string]),
    notes: conf.issues.filter((i) => i.code === 'block-without-brace').map((i) => i.message),
  };
}

/** Each fact on which keepwatch and keepalived differ, as "fact: keepalived X, keepwatch Y". */
function disagreements(name: string, exp: ExpectedFile, conf: KeepalivedConf): string[] {
  const want = exp.extracted;
  const got = observed(conf);
  const out: string[] = [];
  const cmp = (fact: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${fact}: keepalived ${JSON.stringify(a)}, keepwatch ${JSON.stringify(b)}`);
  };
  // keepalived opens included files in glob order (seen with strace), as keepwatch reads them;
  // EXPECTED lists them in another order, so the files are compared as a set, the main one first.
  cmp('files', [want.files[0], ...want.files.slice(1).sort()], [got.files[0], ...got.files.slice(1).sort()]);
  for (const k of ['fatal', 'globals', 'vrrp_runs', 'vrrp_stops_because', 'sync_groups', 'unknown_keywords_vrrp_view'] as const) cmp(k, want[k], got[k]);
  // keepalived's notes are its log lines about blocks opened without "{"; keepwatch says the same in its own words.
  cmp('notes (count)', want.notes.length, got.notes.length);
  cmp('instances (names)', want.instances.map((i) => i.name), got.instances.map((i) => i.name));
  for (const wi of want.instances) {
    const gi = got.instances.find((i) => i.name === wi.name);
    if (!gi) continue;
    for (const k of Object.keys(wi) as Array<keyof ExpectedInstance>) cmp(`${wi.name}.${k}`, wi[k], gi[k]);
  }
  // keepalived refuses to start at all on a fatal error; keepwatch must say the same.
  cmp('refused', exp.keepalived.verdict === 'refused', got.fatal !== null);
  // A password may also stand in a script path (`auth_pass codis`, `/etc/keepalived/codis_master.sh`):
  // then only a string equal to it proves it was kept.
  const strings: string[] = [];
  JSON.stringify(conf, (_k, v: unknown) => (typeof v === 'string' && strings.push(v), v));
  const source = conf.files.map((f) => fs.readFileSync(f, 'latin1')).join('\n').replace(/^.*\bauth_pass\b.*$/gm, '');
  for (const secret of exp.auth_pass_values) {
    const kept = source.includes(secret) ? strings.some((v) => v === secret) : strings.some((v) => v.includes(secret));
    if (kept) out.push(`an auth_pass value of ${name} is kept in the parse result`);
  }
  return out;
}

describe(`keepalived.conf corpus (${Object.keys(expected.files).length} files) read as keepalived ${expected.keepalived_version.split(' ')[1]} reads it`, () => {
  test('the fixture holds every file the manifest lists, and EXPECTED covers each main file', () => {
    for (const f of manifest) expect(fs.existsSync(path.join(CORPUS, f))).toBe(true);
    expect(Object.keys(expected.files).length).toBeGreaterThanOrEqual(70);
    for (const f of Object.keys(expected.files)) expect(manifest).toContain(f);
  });

  test.each(Object.keys(expected.files))('%s agrees with keepalived on every fact', (name) => {
    const conf = parseKeepalivedConf(path.join(CORPUS, name), { configId: expected.config_id });
    expect(disagreements(name, expected.files[name], conf)).toEqual([]);
  });
});
