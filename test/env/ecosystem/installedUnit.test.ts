// The README's install as it stands on a host, against a real keepalived pair in the lab: the
// agent runs as the shipped unit's user, groups, capabilities, umask and no-new-privileges, read
// from deploy/systemd/keepwatch.service (not restated here); the user made by keepwatch.sysusers
// on this host (removed afterwards), keepwatch.tmpfiles applied to a scratch root; keepalived
// with the environment of the shipped drop-in (keepalived.service.d/keepwatch.conf) and the
// snippet's umask; the agent's dumps.dir and method from deploy/keepwatch.example.yml. Absolute
// paths of the deploy files are taken inside the scratch root.
//
// systemd is not PID 1 where the tests run, so `setpriv` plays the unit's credentials and a mount
// namespace gives the agent the same /tmp as keepalived (one host, one /tmp). Not reproduced:
// ProtectSystem/ProtectHome and the other mount sandboxing (they hide and write-protect; they
// grant nothing), seccomp, and the D-Bus policy (the lab's bus allows every user; the policy is
// checked on its own in deploy.test.ts).
import { chownSync, chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import { startLab, type Lab } from '../../lab/lab';
import { startAgent, waitUntil, type LabAgent } from '../../lab/agents';
import { describeLab, needs, requiredAsRoot } from '../../helpers/needs';
import { parseUnit } from '../../helpers/systemdUnit';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../../..');
const deployFile = (p: string) => join(ROOT, 'deploy', p);
const read = (p: string) => readFileSync(deployFile(p), 'utf8');
const SERVICE = parseUnit(read('systemd/keepwatch.service')).get('Service')!;
const DROP_IN = 'systemd/keepalived.service.d/keepwatch.conf';

const last = (k: string) => SERVICE.get(k)?.at(-1);
const words = (k: string) => (SERVICE.get(k) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
/** CAP_NET_RAW -> net_raw, setpriv's spelling. */
const capNames = (k: string) => words(k).map((c) => c.toLowerCase().replace(/^cap_/, ''));

/** name -> [id, primary gid] from a passwd or group file. */
function idsOf(file: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length >= 4) out.set(f[0], [Number(f[2]), Number(f[3])]);
  }
  return out;
}

/** The drop-in's Environment= assignments (none when the file is not shipped). */
function dropInEnv(): Record<string, string> {
  if (!existsSync(deployFile(DROP_IN))) return {};
  const env: Record<string, string> = {};
  for (const v of parseUnit(read(DROP_IN)).get('Service')?.get('Environment') ?? []) {
    for (const kv of v.split(/\s+/).filter(Boolean)) {
      const i = kv.indexOf('=');
      env[kv.slice(0, i)] = kv.slice(i + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The snippet's global_defs settings that decide how keepalived writes its dumps. */
function snippetDumpSettings(): string {
  const snippet = read('keepalived/keepalived.conf.snippet');
  return [...snippet.matchAll(/^\s*(umask\s+\S+)/gm)].map((m) => `  ${m[1]}`).join('\n');
}

/** A decimal mask of capability bits, as /proc/<pid>/status prints them in hex. */
function capMask(names: string[]): bigint {
  const bits: Record<string, number> = { net_raw: 13, kill: 5, dac_read_search: 2, dac_override: 1, net_admin: 12, sys_ptrace: 19 };
  return names.reduce((m, n) => {
    if (bits[n] === undefined) throw new Error(`capability ${n}: add its bit number to this test`);
    return m | (1n << BigInt(bits[n]));
  }, 0n);
}

describeLab('the README install: the agent under the shipped unit against a real keepalived', () => {
  let root: string;
  let lab: Lab;
  let agent: LabAgent;
  let uid: number;
  let gid: number;
  let madeUser = false;
  const inRoot = (p: string) => join(root, p);

  beforeAll(async () => {
    // The user, for real (README: systemd-sysusers): D-Bus, like every service, knows users by
    // name through NSS. Removed afterwards when this test made it.
    if (spawnSync('getent', ['passwd', 'keepwatch']).status !== 0) {
      const u = spawnSync('systemd-sysusers', [deployFile('systemd/keepwatch.sysusers')], { encoding: 'utf8' });
      if (u.status !== 0) throw new Error(`systemd-sysusers: ${u.stderr}`);
      madeUser = true;
    }
    root = mkdtempSync('/run/kw-install-');
    chmodSync(root, 0o755);
    mkdirSync(inRoot('etc'));
    for (const f of ['passwd', 'group']) copyFileSync(`/etc/${f}`, inRoot(`etc/${f}`));
    const t = spawnSync('systemd-tmpfiles', [`--root=${root}`, '--create', deployFile('systemd/keepwatch.tmpfiles')], { encoding: 'utf8' });
    if (t.status !== 0) throw new Error(`systemd-tmpfiles: ${t.stderr}`);

    const users = idsOf(inRoot('etc/passwd'));
    const groups = idsOf(inRoot('etc/group'));
    const user = users.get(last('User') ?? 'root');
    const group = groups.get(last('Group') ?? '');
    if (!user) throw new Error(`the unit's User=${last('User')} was not made by keepwatch.sysusers`);
    [uid, gid] = [user[0], group ? group[0] : user[1]];
    const supplementary = words('SupplementaryGroups').map((g) => {
      const id = groups.get(g)?.[0];
      // systemd refuses to start a unit whose supplementary group does not exist.
      if (id === undefined) throw new Error(`the unit's SupplementaryGroups=${g} does not exist on this host`);
      return id;
    });
    const bounding = capNames('CapabilityBoundingSet');
    const ambient = capNames('AmbientCapabilities');
    const setpriv = [
      'setpriv', `--reuid=${uid}`, `--regid=${gid}`,
      supplementary.length ? `--groups=${supplementary.join(',')}` : '--clear-groups',
      `--bounding-set=${['-all', ...bounding.map((c) => `+${c}`)].join(',')}`,
      `--inh-caps=${['-all', ...ambient.map((c) => `+${c}`)].join(',')}`,
      ...(ambient.length ? [`--ambient-caps=${['-all', ...ambient.map((c) => `+${c}`)].join(',')}`] : []),
      ...(last('NoNewPrivileges') === 'yes' ? ['--no-new-privs'] : []),
    ];

    const env = Object.fromEntries(Object.entries(dropInEnv()).map(([k, v]) => [k, v.startsWith('/') ? inRoot(v) : v]));
    lab = await startLab({ id: 'install', keepalivedEnv: () => env, globalExtra: snippetDumpSettings });
    const example = parse(read('keepwatch.example.yml')) as { keepalived: { dumps: { dir?: string; method: string } } };
    const dumps = example.keepalived.dumps;
    const ka1 = lab.nodes[0];
    // The agent's own directories (StateDirectory, RuntimeDirectory on a host) belong to its user.
    const dataDir = join(ka1.dir, 'keepwatch');
    mkdirSync(dataDir, { recursive: true });
    chownSync(dataDir, uid, gid);
    agent = await startAgent(lab, ka1, {
      config: () => ({ keepalived: { dumps: { method: dumps.method, interval: '2s', dir: dumps.dir ? inRoot(dumps.dir) : undefined } } }),
      wrap: (n) => [
        'unshare', '-m', '--propagation', 'private', 'sh', '-c',
        `mount --bind "$0" /tmp && umask ${last('UMask') ?? '0022'} && exec "$@"`, n.tmpDir,
        ...setpriv,
      ],
    });
  });

  afterAll(async () => {
    await lab?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
    if (madeUser) {
      spawnSync('userdel', ['keepwatch']);
      spawnSync('groupdel', ['keepwatch']);
    }
  });

  test('runs as the unit\'s user with only the unit\'s capabilities', () => {
    const status = readFileSync(`/proc/${agent.proc.pid}/status`, 'utf8');
    const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    expect(field('Name')).toMatch(/node|keepwatch/);
    expect(field('Uid').split(/\s+/).map(Number)).toEqual([uid, uid, uid, uid]);
    expect(field('Gid').split(/\s+/).map(Number)).toEqual([gid, gid, gid, gid]);
    expect(BigInt(`0x${field('CapBnd')}`)).toBe(capMask(capNames('CapabilityBoundingSet')));
    expect(BigInt(`0x${field('CapAmb')}`)).toBe(capMask(capNames('AmbientCapabilities')));
    expect(BigInt(`0x${field('CapEff')}`)).toBe(capMask(capNames('AmbientCapabilities')));
  });

  test('a scrape shows keepalived\'s counters and no source down (KeepwatchSourceDown: keepwatch_source_up == 0)', async () => {
    const down = (m: string) => m.split('\n').filter((l) => /^keepwatch_source_up\{.*\} 0$/.test(l));
    const counters = (m: string) => m.split('\n').filter((l) => /^keepalived_advertisements_(sent|received)_total\{.*\} [1-9]/.test(l));
    let metrics = '';
    try {
      await waitUntil(async () => {
        metrics = await agent.metrics();
        return counters(metrics).length > 0 && /^keepwatch_source_up\{source="dumps"\} 1$/m.test(metrics);
      }, 20_000, 250, 'keepalived_advertisements_*_total and keepwatch_source_up{source="dumps"} 1');
    } catch (e) {
      const why = readFileSync(agent.logFile, 'utf8').split('\n').filter((l) => /source down/.test(l)).slice(-2).join('\n');
      throw new Error(`${(e as Error).message}\nsources down: ${down(metrics).join(', ')}\nthe agent says:\n${why}`);
    }
    expect(down(metrics)).toEqual([]);
    expect(counters(metrics).length).toBeGreaterThan(0);
  });

  test('the dumps it reads are open to the agent\'s group only, never to others (they hold auth_pass)', () => {
    const dir = dropInEnv().TMPDIR;
    expect(dir).toBeDefined();
    for (const f of ['keepalived.data', 'keepalived.stats']) {
      const st = statSync(inRoot(join(dir!, f)));
      expect({ file: f, uid: st.uid, gid: st.gid, other: st.mode & 0o007, groupWrite: st.mode & 0o020 }).toEqual({ file: f, uid: 0, gid, other: 0, groupWrite: 0 });
    }
  });
}, [requiredAsRoot(needs.command('setpriv', 'util-linux')), requiredAsRoot(needs.command('systemd-sysusers', 'systemd')), requiredAsRoot(needs.command('systemd-tmpfiles', 'systemd'))]);
