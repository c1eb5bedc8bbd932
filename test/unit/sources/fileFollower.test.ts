// FileFollower on real files in a temp dir, driven by poke() on an injected clock: every read
// happens when the test says, so each step's lines are known without waiting on fs.watch.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileFollower, type FileFollowerOptions } from '../../../agent/sources/fileFollower';
import { FakeClock } from '../../helpers/fakeClock';

let dir: string;
let file: string;
const followers: FileFollower[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-follow-'));
  file = path.join(dir, 'keepalived.log');
});

afterEach(async () => {
  for (const f of followers.splice(0)) await f.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function follow(opts: Partial<FileFollowerOptions> = {}) {
  const clock = new FakeClock();
  const lines: Array<{ line: string; readAt: number; backlog: boolean }> = [];
  const health: Array<[boolean, string | undefined]> = [];
  const overlong: string[] = [];
  let backlogDone = 0;
  const f = new FileFollower({
    path: file,
    clock,
    onLine: (line, readAt, backlog) => lines.push({ line, readAt, backlog }),
    onOverlong: (head) => overlong.push(head),
    onHealth: (up, error) => health.push([up, error]),
    onBacklogDone: () => backlogDone++,
    ...opts,
  });
  followers.push(f);
  return { f, clock, lines, health, overlong, texts: () => lines.map((l) => l.line), backlogDone: () => backlogDone };
}

test('from the end by default: what the file held is skipped, appended lines arrive stamped with the read time', async () => {
  fs.writeFileSync(file, 'old 1\nold 2\n');
  const { f, clock, lines, health, texts } = follow();
  await f.start();
  expect(health).toEqual([[true, undefined]]);
  expect(lines).toEqual([]);
  clock.advance(5000);
  fs.appendFileSync(file, 'new 1\nnew 2\n');
  await f.poke();
  expect(texts()).toEqual(['new 1', 'new 2']);
  expect(lines.every((l) => l.readAt === clock.now() && !l.backlog)).toBe(true);
  const st = fs.statSync(file);
  expect(f.place()).toEqual({ dev: st.dev, ino: st.ino, offset: st.size });
});

test('fromStart: the file is read from its beginning, as live lines (no saved place: no backlog)', async () => {
  fs.writeFileSync(file, 'a\nb\n');
  const { f, lines } = follow({ fromStart: true });
  await f.start();
  fs.appendFileSync(file, 'c\n');
  await f.poke();
  expect(lines.map((l) => [l.line, l.backlog])).toEqual([['a', false], ['b', false], ['c', false]]);
});

test('a line without its newline waits for the rest; place() stops before it', async () => {
  fs.writeFileSync(file, '');
  const { f, texts } = follow();
  await f.start();
  fs.appendFileSync(file, 'whole\nhal');
  await f.poke();
  expect(texts()).toEqual(['whole']);
  expect(f.place()?.offset).toBe('whole\n'.length);
  fs.appendFileSync(file, 'f\n');
  await f.poke();
  expect(texts()).toEqual(['whole', 'half']);
});

test('resume: reads from the saved place in the same file, as backlog, then onBacklogDone once', async () => {
  fs.writeFileSync(file, 'seen\n');
  const st = fs.statSync(file);
  fs.appendFileSync(file, 'missed 1\nmissed 2\n');
  const { f, lines, backlogDone } = follow({ resume: { dev: st.dev, ino: st.ino, offset: st.size } });
  await f.start();
  expect(lines.map((l) => [l.line, l.backlog])).toEqual([['missed 1', true], ['missed 2', true]]);
  expect(backlogDone()).toBe(1);
  fs.appendFileSync(file, 'live\n');
  await f.poke();
  expect(lines.at(-1)).toMatchObject({ line: 'live', backlog: false });
  expect(backlogDone()).toBe(1);
});

test('resume in a file that is not the saved one (rotated meanwhile): all of it is backlog', async () => {
  fs.writeFileSync(file, 'new file\n');
  const st = fs.statSync(file);
  const { f, lines } = follow({ resume: { dev: st.dev, ino: st.ino + 1, offset: 3 } });
  await f.start();
  expect(lines.map((l) => [l.line, l.backlog])).toEqual([['new file', true]]);
});

test('rotation by rename: the old file is read to its end, then the new one from its start', async () => {
  fs.writeFileSync(file, '');
  const { f, texts } = follow();
  await f.start();
  fs.appendFileSync(file, 'before\n');
  await f.poke();
  fs.appendFileSync(file, 'last of old\n');
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, 'first of new\n');
  await f.poke();
  await f.poke();
  expect(texts()).toEqual(['before', 'last of old', 'first of new']);
  expect(f.place()?.ino).toBe(fs.statSync(file).ino);
});

test('copytruncate: a file that shrank is read again from its start', async () => {
  fs.writeFileSync(file, '');
  const { f, texts } = follow();
  await f.start();
  fs.appendFileSync(file, 'one line that is long\n');
  await f.poke();
  fs.truncateSync(file, 0);
  await f.poke();
  fs.appendFileSync(file, 'short\n');
  await f.poke();
  expect(texts()).toEqual(['one line that is long', 'short']);
});

test('a missing file: down with the reason, up once it appears (read from its start)', async () => {
  const { f, health, texts } = follow();
  await f.start();
  expect(health).toEqual([[false, `log file ${file} does not exist (waiting for it)`]]);
  fs.writeFileSync(file, 'hello\n');
  await f.poke();
  expect(health.at(-1)).toEqual([true, undefined]);
  expect(texts()).toEqual(['hello']);
});

test('an overlong line is handed on as such, the next line is whole', async () => {
  fs.writeFileSync(file, '');
  const { f, texts, overlong } = follow({ maxLineBytes: 16 });
  await f.start();
  fs.appendFileSync(file, `${'x'.repeat(40)}\nok\n`);
  await f.poke();
  expect(overlong).toEqual([expect.stringMatching(/^x+$/)]);
  expect(texts()).toEqual(['ok']);
});

test('stop(): no timer left on the clock, the place kept for the read position', async () => {
  fs.writeFileSync(file, 'x\n');
  const { f, clock } = follow();
  await f.start();
  expect(clock.pending()).toBe(1);
  const place = f.place();
  await f.stop();
  expect(clock.pending()).toBe(0);
  expect(f.place()).toEqual(place);
});
