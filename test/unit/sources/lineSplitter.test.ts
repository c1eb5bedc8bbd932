import fc from 'fast-check';
import { LineSplitter } from '../../../agent/sources/lineSplitter';

function collect(max: number) {
  const lines: string[] = [];
  const overlong: string[] = [];
  const s = new LineSplitter({ maxLineBytes: max, onLine: (l) => lines.push(l), onOverlong: (h) => overlong.push(h) });
  return { s, lines, overlong };
}

describe('LineSplitter', () => {
  test('carries partial lines, strips CR, keeps empty lines', () => {
    const { s, lines } = collect(100);
    s.push(Buffer.from('ab'));
    s.push(Buffer.from('c\r\n\nde'));
    expect(lines).toEqual(['abc', '']);
    expect(s.pendingBytes).toBe(2);
    s.push(Buffer.from('f\n'));
    expect(lines).toEqual(['abc', '', 'def']);
    expect(s.pendingBytes).toBe(0);
  });

  test('a line of exactly max bytes passes; one byte more is overlong, reported once, skipped to its newline', () => {
    const { s, lines, overlong } = collect(4);
    s.push(Buffer.from('abcd\nabcde'));
    s.push(Buffer.from('fgh'));
    s.push(Buffer.from('ij\nok\n'));
    expect(lines).toEqual(['abcd', 'ok']);
    expect(overlong).toEqual(['abcde']);
    expect(s.pendingBytes).toBe(0);
  });

  test('memory stays bounded while a writer never sends a newline', () => {
    const { s, overlong } = collect(1024);
    for (let i = 0; i < 1000; i++) s.push(Buffer.alloc(4096, 0x61));
    expect(s.pendingBytes).toBe(0);
    expect(overlong).toHaveLength(1);
  });

  test('multi-byte characters split across chunks decode whole', () => {
    const { s, lines } = collect(100);
    const b = Buffer.from('Ωμέγα\n');
    for (const byte of b) s.push(Buffer.from([byte]));
    expect(lines).toEqual(['Ωμέγα']);
  });

  test('flush emits the unfinished line; reset forgets it', () => {
    const { s, lines } = collect(100);
    s.push(Buffer.from('x'));
    s.flush();
    s.push(Buffer.from('y'));
    s.reset();
    s.push(Buffer.from('z\n'));
    expect(lines).toEqual(['x', 'z']);
  });

  test('any chunking of a stream gives the same lines as one push (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.array(fc.nat(400), { maxLength: 20 }), fc.integer({ min: 1, max: 64 }), (text, cuts, max) => {
        const whole = collect(max);
        const buf = Buffer.from(text);
        whole.s.push(buf);
        const parts = collect(max);
        const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
        let prev = 0;
        for (const p of [...points, buf.length]) {
          parts.s.push(buf.subarray(prev, p));
          prev = p;
        }
        expect(parts.lines).toEqual(whole.lines);
        expect(parts.overlong.length).toBe(whole.overlong.length);
        expect(parts.s.pendingBytes).toBe(whole.s.pendingBytes);
      }),
      { numRuns: 1000 },
    );
  });
});
