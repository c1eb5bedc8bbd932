// Issue 15, high 1: the hook and `notify --deliver-spooled` run as root in a spool the agent's user
// owns. The attacks replayed here are what that user can do: plant links in the spool to root-owned
// files and directories, or a FIFO. Root must never write through them (the victims stay as they
// were) and must say clearly what it refused. Runs as root, as the hook does.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { handOver, secureHookDir } from '../../../agent/hook/spool';
import { runHook } from '../../helpers/hook';
import { runCli } from '../../helpers/runCli';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test : test.skip;

let dir: string;
let spool: string;
let victimDir: string;
let victimFile: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-spoolsec-'));
  spool = path.join(dir, 'spool');
  fs.mkdirSync(spool);
  victimDir = path.join(dir, 'etc');
  fs.mkdirSync(victimDir, { mode: 0o755 });
  victimFile = path.join(victimDir, 'shadow');
  fs.writeFileSync(victimFile, 'root:secret\n', { mode: 0o600 });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const victimUntouched = () => {
  expect(fs.readdirSync(victimDir)).toEqual(['shadow']);
  expect(fs.readFileSync(victimFile, 'utf8')).toBe('root:secret\n');
};

rootTest('sh hook: a tmp/ link in the spool to a root directory is not followed; the record still arrives', async () => {
  fs.symlinkSync(victimDir, path.join(spool, 'tmp'));
  const r = await runHook(['--spool', spool, '--no-socket', 'INSTANCE', 'VI_1', 'MASTER', '100']);
  expect(r.code).toBe(0);
  victimUntouched();
  expect(fs.readdirSync(spool).filter((n) => n.endsWith('.rec'))).toHaveLength(1);
});

rootTest("sh hook: root's own directory replaced by a link (or owned by another user): refused with a clear error, nothing written", async () => {
  fs.symlinkSync(victimDir, `${spool}-hook`);
  const r = await runHook(['--spool', spool, '--no-socket', 'INSTANCE', 'VI_1', 'MASTER', '100']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/cannot write to spool .*spool-hook must be a directory of this user \(uid 0\), not a link/);
  victimUntouched();
  fs.unlinkSync(`${spool}-hook`);
  fs.mkdirSync(`${spool}-hook/tmp`, { recursive: true, mode: 0o700 });
  fs.chmodSync(`${spool}-hook`, 0o777);
  const w = await runHook(['--spool', spool, '--no-socket', 'INSTANCE', 'VI_1', 'MASTER', '100']);
  expect(w.code).toBe(1);
  expect(w.stderr).toMatch(/unsafe hook directory .*spool-hook/);
});

rootTest('sh hook: agent.alive made a FIFO does not block the hook (keepalived waits for it)', async () => {
  execFileSync('mkfifo', [path.join(spool, 'agent.alive')]);
  const r = await runHook(['--spool', spool, '--no-socket', 'INSTANCE', 'VI_1', 'BACKUP'], {}, 5000);
  expect(r.code).toBe(0);
  expect(fs.readdirSync(spool).filter((n) => n.endsWith('.rec'))).toHaveLength(1);
});

rootTest('deliverer: deliver.log and delivered/ planted as links to root files in the spool are never written', async () => {
  fs.symlinkSync(victimFile, path.join(spool, 'deliver.log'));
  fs.symlinkSync(victimDir, path.join(spool, 'delivered'));
  const ns = BigInt(Date.now()) * 1_000_000n;
  fs.writeFileSync(path.join(spool, `${ns}-77.rec`), `v1 ${ns} 77 INSTANCE VI_1 FAULT 100\n`);
  const got: string[] = [];
  const srv = http.createServer((req, res) => {
    got.push(req.url ?? '');
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const cfg = path.join(dir, 'keepwatch.yml');
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/x`;
    fs.writeFileSync(cfg, ['node: ka1', 'alerting:', '  receivers:', `    - {name: ops, type: webhook, url: "${url}"}`, ''].join('\n'));
    const r = await runCli('notify', '--deliver-spooled', '--spool', spool, '--no-socket', '--config.file', cfg);
    expect(r.out).toMatch(/delivered 1, failed 0/);
  } finally {
    srv.close();
  }
  expect(got).toEqual(['/x']);
  victimUntouched();
  expect(fs.readFileSync(path.join(`${spool}-hook`, 'deliver.log'), 'utf8')).toMatch(/page delivered by the hook/);
  expect(fs.readdirSync(path.join(`${spool}-hook`, 'delivered'))).toEqual([`${ns}-77`]);
}, 30_000);

rootTest('handOver: a link planted at the record name is replaced, not written through', () => {
  fs.symlinkSync(victimFile, path.join(spool, '1-1.rec'));
  handOver(spool, '1-1.rec', 'v1 1 1 INSTANCE VI_1 MASTER -\n');
  victimUntouched();
  expect(fs.lstatSync(path.join(spool, '1-1.rec')).isFile()).toBe(true);
});

rootTest('secureHookDir: a parent directory others can write is refused (they could swap the hook directory)', () => {
  const open = path.join(dir, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  expect(() => secureHookDir(path.join(open, 'spool'))).toThrow(/unsafe hook directory: .*open .*another user could swap/);
});
