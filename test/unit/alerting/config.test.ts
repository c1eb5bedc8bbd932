import { parseConfig, ConfigError } from '../../../agent/config/load';

function problems(alerting: string): string[] {
  try {
    parseConfig(`node: ka1\nalerting:\n${alerting}`);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('alerting config checks', () => {
  test('a valid config with route, receivers and inhibit rules loads, durations in ms', () => {
    const cfg = parseConfig(`node: ka1
alerting:
  route:
    receiver: slack
    group_by: [alertname, vrid]
    routes:
      - {matchers: ['severity="critical"'], receiver: pager, group_wait: 0s, group_interval: 10s, repeat_interval: 1h}
  receivers:
    - {name: slack, type: slack, webhook_url: "https://hooks.slack.com/services/T/B/X"}
    - {name: pager, type: webhook, url: "https://pager.example/hook"}
  inhibit_rules:
    - {source_matchers: ['alertname=SplitBrain'], target_matchers: ['alertname=VipMismatch'], equal: [vrid]}
  retry: {initial: 1s, max: 2m, max_age: 1d}
`);
    expect(cfg.alerting.route?.routes[0]).toMatchObject({ group_wait: 0, group_interval: 10_000, repeat_interval: 3_600_000, receiver: 'pager' });
    expect(cfg.alerting.retry).toEqual({ initial: 1000, max: 120_000, max_age: 86_400_000 });
  });

  test('every problem is named with its path', () => {
    const p = problems(`  route:
    routes:
      - {matchers: ['severity'], receiver: nobody}
  receivers:
    - {name: a, type: webhook, url: "http://x/"}
    - {name: a, type: webhook, url: "http://y/"}
  inhibit_rules:
    - {source_matchers: ['a=~"(("'], target_matchers: ['b=c']}
`);
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerting\.route\.routes\.0\.matchers\.0: bad matcher "severity"/),
        expect.stringMatching(/^alerting\.inhibit_rules\.0\.source_matchers\.0: bad matcher .*invalid regular expression/),
      ]),
    );
  });

  test('route receivers must exist, names be unique, the root have a receiver', () => {
    const p = problems(`  route:
    routes:
      - {receiver: nobody}
  receivers:
    - {name: a, type: webhook, url: "http://x/"}
    - {name: a, type: webhook, url: "http://y/"}
`);
    expect(p).toEqual(
      expect.arrayContaining([
        'alerting.receivers.1.name: receiver "a" is defined twice',
        'alerting.route.receiver: the root route needs a receiver',
        'alerting.route.routes.0.receiver: receiver "nobody" is not defined in alerting.receivers',
      ]),
    );
  });
});
