// The log's read position file: round trips for both kinds, nothing saved is no position, and a
// damaged file is an error that names the file and what is wrong.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadPositionFile } from '../../../agent/sources/readPosition';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-pos-'));
  file = join(dir, 'state', 'log-position.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('nothing saved yet: no position', () => {
  expect(new ReadPositionFile(file).load()).toBeUndefined();
});

test('a file place and a journal cursor round-trip (the directory is created)', () => {
  const p = new ReadPositionFile(file);
  p.save({ kind: 'file', path: '/var/log/keepalived.log', dev: 2049, ino: 1234, offset: 99 });
  expect(p.load()).toEqual({ kind: 'file', path: '/var/log/keepalived.log', dev: 2049, ino: 1234, offset: 99 });
  p.save({ kind: 'journal', cursor: 's=1;i=42' });
  expect(new ReadPositionFile(file).load()).toEqual({ kind: 'journal', cursor: 's=1;i=42' });
  expect(readFileSync(file, 'utf8')).toBe('{"kind":"journal","cursor":"s=1;i=42"}\n');
});

test('not JSON: an error naming the file', () => {
  const p = new ReadPositionFile(file);
  p.save({ kind: 'journal', cursor: 'x' });
  writeFileSync(file, '{oops');
  expect(() => p.load()).toThrow(`the log read position ${file} is not JSON`);
});

test('JSON of the wrong shape: an error naming the file and the field', () => {
  const p = new ReadPositionFile(file);
  p.save({ kind: 'journal', cursor: 'x' });
  writeFileSync(file, JSON.stringify({ kind: 'file', path: '/x', dev: 1, ino: 2, offset: -1 }));
  expect(() => p.load()).toThrow(new RegExp(`the log read position ${file} is not valid \\(offset: `));
  writeFileSync(file, JSON.stringify({ kind: 'journal', cursor: 'x', extra: 1 }));
  expect(() => p.load()).toThrow(/is not valid/);
});
