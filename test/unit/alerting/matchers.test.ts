import fc from 'fast-check';
import { createMatcher, formatMatchers, matcherFromJson, matcherToJson, parseMatcher, parseMatchers, MatcherParseError } from '../../../agent/alerting/matchers';

describe('parseMatcher (Alertmanager syntax)', () => {
  test.each([
    ['severity=critical', 'severity', '=', 'critical'],
    ['severity="critical"', 'severity', '=', 'critical'],
    ['  node != ka2 ', 'node', '!=', 'ka2'],
    ['alertname=~"Split.*"', 'alertname', '=~', 'Split.*'],
    ['alertname!~Vip.*', 'alertname', '!~', 'Vip.*'],
    ['summary="a \\"quoted\\" \\\\ word"', 'summary', '=', 'a "quoted" \\ word'],
    ['vrid=""', 'vrid', '=', ''],
    ['vrid=', 'vrid', '=', ''],
    ['msg="a, b=c"', 'msg', '=', 'a, b=c'],
  ])('%s', (input, name, type, value) => {
    const m = parseMatcher(input);
    expect([m.name, m.type, m.value]).toEqual([name, type, value]);
  });

  test.each([
    ['severity', /expected NAME=VALUE/],
    ['=critical', /expected NAME=VALUE/],
    ['9x=1', /not a valid label name/],
    ['a="unterminated', /unterminated/],
    ['a=b"c', /must be quoted/],
    ['a=~"(("', /invalid regular expression/],
    ['a="x"y"', /unescaped "/],
  ])('rejects %s', (input, msg) => {
    expect(() => parseMatcher(input)).toThrow(MatcherParseError);
    expect(() => parseMatcher(input)).toThrow(msg);
  });

  test('regexes are anchored at both ends, like Alertmanager', () => {
    const m = parseMatcher('node=~ka');
    expect(m.matches({ node: 'ka' })).toBe(true);
    expect(m.matches({ node: 'ka1' })).toBe(false);
    expect(m.matches({ node: 'xka' })).toBe(false);
    expect(parseMatcher('alertname=~"InstanceFault|VipMismatch"').matches({ alertname: 'VipMismatch' })).toBe(true);
    expect(parseMatcher('alertname=~"InstanceFault|VipMismatch"').matches({ alertname: 'VipMismatchX' })).toBe(false);
  });

  test('a missing label is the empty string', () => {
    expect(parseMatcher('vrid=""').matches({})).toBe(true);
    expect(parseMatcher('vrid!=""').matches({})).toBe(false);
    expect(parseMatcher('vrid!~"5.*"').matches({})).toBe(true);
    expect(parseMatcher('vrid=~".*"').matches({})).toBe(true);
  });

  test('negative matchers', () => {
    expect(parseMatcher('node!=ka1').matches({ node: 'ka2' })).toBe(true);
    expect(parseMatcher('node!=ka1').matches({ node: 'ka1' })).toBe(false);
    expect(parseMatcher('node!~"ka[12]"').matches({ node: 'ka3' })).toBe(true);
  });

  test('parseMatchers takes {..} lists and comma lists', () => {
    expect(parseMatchers('{alertname="SplitBrain", vrid=~"5.*"}').map(String)).toEqual(['alertname="SplitBrain"', 'vrid=~"5.*"']);
    expect(parseMatchers('a=b,c!=d').map(String)).toEqual(['a="b"', 'c!="d"']);
    expect(parseMatchers('{}')).toEqual([]);
    expect(parseMatchers('msg="x, y", a=b').map((m) => m.value)).toEqual(['x, y', 'b']);
  });

  test('formatMatchers and JSON round trip', () => {
    const ms = [parseMatcher('a=b'), parseMatcher('c!~"d.*"')];
    expect(formatMatchers(ms)).toBe('{a="b", c!~"d.*"}');
    for (const m of ms) expect(String(matcherFromJson(matcherToJson(m)))).toBe(String(m));
    expect(matcherToJson(ms[1])).toEqual({ name: 'c', value: 'd.*', isRegex: true, isEqual: false });
  });

  test('property: printing and parsing a matcher gives the same matcher', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/);
    const value = fc.string({ maxLength: 20 });
    fc.assert(
      fc.property(name, fc.constantFrom('=', '!='), value, (n, t, v) => {
        const m = createMatcher(n, t as '=' | '!=', v);
        const back = parseMatcher(String(m));
        expect([back.name, back.type, back.value]).toEqual([n, t, v]);
      }),
      { numRuns: 300 },
    );
  });

  test('property: the parser never throws anything but MatcherParseError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          parseMatcher(s);
        } catch (e) {
          expect(e).toBeInstanceOf(MatcherParseError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
