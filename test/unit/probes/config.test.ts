import { parseConfig } from '../../../agent/config/load';

const errorsOf = (yaml: string): string[] => {
  try {
    parseConfig(yaml);
    return [];
  } catch (e) {
    return (e as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
};

describe('config: probes, vips and nginx keys', () => {
  test('every probe key with an interval, a cron schedule or a timeout; vips as addresses', () => {
    const c = parseConfig(`node: ka1
nginx:
  status_url: http://127.0.0.1:8080/nginx_status
  health_url: http://127.0.0.1/health
  health_via_vip: false
  pid_file: /run/nginx.pid
  binary: /usr/sbin/nginx
probes:
  vip: {interval: 30s}
  arp: {schedule: "*/15 * * * * *", timeout: 4s}
  nginx_status: {interval: 2s, timeout: 1s}
  nginx_health: {interval: 2s}
  nginx_process: {enabled: false}
  nginx_config: {schedule: "0 * * * *"}
vips:
  VI_1: [192.0.2.100, 192.0.2.101/32]
  VI_6: ["2001:db8::100"]
`);
    expect(c.probes).toEqual({
      vip: { interval: 30_000, enabled: true },
      arp: { schedule: '*/15 * * * * *', timeout: 4_000, enabled: true },
      nginx_status: { interval: 2_000, timeout: 1_000, enabled: true },
      nginx_health: { interval: 2_000, enabled: true },
      nginx_process: { enabled: false },
      nginx_config: { schedule: '0 * * * *', enabled: true },
    });
    expect(c.vips).toEqual({ VI_1: ['192.0.2.100', '192.0.2.101/32'], VI_6: ['2001:db8::100'] });
    expect(c.nginx).toMatchObject({ status_url: 'http://127.0.0.1:8080/nginx_status', health_via_vip: false });
  });

  test('mistakes are named by their path', () => {
    expect(
      errorsOf(`node: ka1
probes:
  vip: {interval: 5s, schedule: "* * * * *"}
  arp: {schedule: "every 5 seconds", timeout: 1s}
  nginx_status: {interval: 10ms}
  nginx_health: {intervall: 5s}
  ping: {interval: 5s}
vips:
  VI_1: [192.0.2.300]
nginx:
  status_url: ftp://x/
`),
    ).toEqual(
      expect.arrayContaining([
        'probes.vip.schedule: set interval or schedule, not both',
        'probes.arp.schedule: not a cron expression: "every 5 seconds" (e.g. "*/5 * * * *", or with seconds "*/10 * * * * *")',
        'probes.arp.timeout: must be at least 2500ms: arping waits 2 s for answers',
        'probes.nginx_status.interval: must be at least 100ms',
        expect.stringMatching(/^probes\.nginx_health: .*intervall/),
        expect.stringMatching(/^probes: .*ping/),
        'vips.VI_1.0: not an IP address',
        expect.stringMatching(/^nginx\.status_url: /),
      ]),
    );
  });
});
