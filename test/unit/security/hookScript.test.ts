// Issue 15, low: the sh hook keeps instance names with spaces or non-ASCII characters (one %XX
// encoded record field, decoded by the agent), and a socket whose backlog is full cannot hold it:
// the connect is bounded, the record is spooled.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseRecord } from '../../../agent/hook/record';
import { writeHeartbeat, ensureSpool } from '../../../agent/hook/spool';
import { runHook } from '../../helpers/hook';
import { waitFor } from '../../helpers/wait';

let dir: string;
let spool: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-hooksh-'));
  spool = path.join(dir, 'spool');
  fs.mkdirSync(spool);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const records = () => fs.readdirSync(spool).filter((n) => n.endsWith('.rec')).map((n) => parseRecord(fs.readFileSync(path.join(spool, n), 'utf8')));

test.each([['VI web front'], ['VI_Zürich'], ['ВИ 1 100%']])('instance name %j survives the hook and the spool', async (name) => {
  const r = await runHook(['--spool', spool, '--no-socket', 'INSTANCE', name, 'MASTER', '150']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  const [rec] = records();
  expect(rec).toMatchObject({ ok: true, record: { name, state: 'MASTER', priority: 150, type: 'INSTANCE' } });
});

test('a hook socket with a full backlog: the connect is bounded, the record is spooled', async () => {
  const sock = path.join(dir, 'hook.sock');
  // A listener that never accepts: its event loop is parked (Atomics.wait) right after listen()
  // (stdout to a pipe is synchronous on Linux: 'ready' is out before it parks).
  const script = `const s=require('net').createServer();s.listen({path:${JSON.stringify(sock)},backlog:1},()=>{console.log('ready');Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,60000)});`;
  const listener: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const fillers: net.Socket[] = [];
  try {
    await new Promise((r) => listener.stdout!.once('data', r));
    // Fill the backlog: connects succeed until the queue is full, then the next ones fail (EAGAIN).
    for (let i = 0; i < 32; i++) {
      const c = net.connect(sock);
      c.on('error', () => undefined);
      fillers.push(c);
    }
    await waitFor(() => fillers.some((c) => c.destroyed), { what: 'a full backlog (a refused connect)' });
    writeHeartbeat(ensureSpool(spool), Date.now(), 30); // the agent looks alive: the hook tries the socket
    const r = await runHook(['--spool', spool, '--socket', sock, 'INSTANCE', 'VI_1', 'BACKUP'], {}, 20_000);
    expect(r.code).toBe(0);
    expect(records()).toEqual([expect.objectContaining({ ok: true, record: expect.objectContaining({ name: 'VI_1', state: 'BACKUP' }) })]);
  } finally {
    for (const c of fillers) c.destroy();
    listener.kill('SIGKILL');
  }
}, 30_000);
