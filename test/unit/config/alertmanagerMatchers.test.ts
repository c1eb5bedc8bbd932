// Routes and inhibit rules written for Alertmanager load unchanged: `match` and `match_re` maps
// (folded into matchers; regexes anchored like Alertmanager's) and braced matcher lists.
import { ConfigError, parseConfig } from '../../../agent/config/load';
import { parseMatcher } from '../../../agent/alerting/matchers';

const base = 'node: a\nalerting:\n  receivers: [{name: pager, type: webhook, url: "http://127.0.0.1:9/"}]\n';

describe('Alertmanager matcher forms in the config', () => {
  test('route: match and match_re fold into matchers, at every depth', () => {
    const c = parseConfig(
      base +
        '  route:\n    receiver: pager\n    match: {severity: critical}\n    routes:\n' +
        '      - receiver: pager\n        match_re: {alertname: "Split.*|NoMaster"}\n        matchers: [vrid="51"]\n',
    );
    const r = c.alerting.route!;
    expect(r.matchers).toEqual(['severity="critical"']);
    expect(r.match).toBeUndefined();
    expect(r.routes[0].matchers).toEqual(['vrid="51"', 'alertname=~"Split.*|NoMaster"']);
    const re = parseMatcher(r.routes[0].matchers[1]);
    expect(re.matches({ alertname: 'SplitBrain' })).toBe(true);
    expect(re.matches({ alertname: 'XSplitBrain' })).toBe(false); // anchored, as Alertmanager
  });

  test('a braced list is one item of matchers, expanded', () => {
    const c = parseConfig(base + '  route:\n    receiver: pager\n    matchers: [\'{severity="critical", node=~"ka.*"}\', vrid!=7]\n');
    expect(c.alerting.route!.matchers).toEqual(['severity="critical"', 'node=~"ka.*"', 'vrid!="7"']);
  });

  test('inhibit rules: source_match, source_match_re, target_match, target_match_re', () => {
    const c = parseConfig(
      base + '  inhibit_rules:\n    - source_match: {alertname: SplitBrain}\n      target_match_re: {severity: "warning|info"}\n      equal: [vrid]\n',
    );
    expect(c.alerting.inhibit_rules![0]).toEqual({ source_matchers: ['alertname="SplitBrain"'], target_matchers: ['severity=~"warning|info"'], equal: ['vrid'] });
  });

  test('values with quotes and backslashes survive the fold', () => {
    const c = parseConfig(base + '  route:\n    receiver: pager\n    match: {summary: \'say "hi" \\ now\'}\n');
    expect(parseMatcher(c.alerting.route!.matchers[0]).value).toBe('say "hi" \\ now');
  });

  test.each([
    ['a bad regex in match_re', '  route:\n    receiver: pager\n    match_re: {alertname: "(unclosed"}\n', /alerting\.route\.matchers.*invalid regular expression/],
    ['match not a map', '  route:\n    receiver: pager\n    match: [a]\n', /alerting\.route\.match/],
    ['a bad label name', '  route:\n    receiver: pager\n    match: {"1bad": x}\n', /not a valid label name/],
  ])('%s: a clear error naming where', (_what, yaml, expected) => {
    let err: unknown;
    try {
      parseConfig(base + yaml);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join('\n')).toMatch(expected);
  });
});
