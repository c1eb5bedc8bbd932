import { parseConfig } from '../../../agent/config/load';
import { redactConfig } from '../../../agent/config/redact';

test('redactConfig: no secret of any receiver, token or peer survives; the rest is kept', () => {
  const cfg = parseConfig(`node: ka1
peer_token: peer-token-0123456789
peers: [{name: ka2, url: "http://ka2:9723", token: peer2-token-0123456789}]
web: {basic_auth_users: {prom: "$2a$10$abcdefghijklmnopqrstuv"}}
alerting:
  api_token: api-token-0123456789
  external_labels: {cluster: lb-paris-1}
  heartbeat: {url: "https://hc-ping.example.com/heartbeatsecret"}
  receivers:
    - {name: s, type: slack, webhook_url: "https://hooks.slack.com/services/T1/B2/slacksecret"}
    - {name: m, type: email, to: [a@b.c], from: k@b.c, smarthost: "smtp:587", auth_username: kw, auth_password: smtppass}
    - {name: w, type: webhook, url: "https://hooks.example/p/pathsecret?token=querysecret", hmac_secret: hmacsecret, headers: {Authorization: "Bearer headersecret"}}
    - {name: am, type: alertmanager, url: "https://amuser:ampass@am.example:9093/?x=y", basic_auth: {username: u, password: basicpass}}
    - {name: am2, type: alertmanager, urls: ["https://am1.example:9093", "https://amuser2:ampass2@am2.example:9093"], bearer_token: bearersecret}
`);
  const text = JSON.stringify(redactConfig(cfg));
  for (const secret of ['peer-token', 'peer2-token', 'api-token', 'slacksecret', 'smtppass', 'pathsecret', 'querysecret', 'hmacsecret', 'headersecret', 'ampass', 'basicpass', '$2a$10', 'heartbeatsecret', 'bearersecret', 'ampass2']) {
    expect(text).not.toContain(secret);
  }
  const r = redactConfig(cfg);
  expect(r.alerting.receivers.map((x) => x.name)).toEqual(['s', 'm', 'w', 'am', 'am2']);
  expect(r.alerting.receivers[2]).toMatchObject({ url: 'https://hooks.example/<secret>', headers: { Authorization: '<secret>' } });
  expect(r.alerting.receivers[3]).toMatchObject({ urls: ['https://<secret>@am.example:9093/?<secret>'], basic_auth: { username: 'u', password: '<secret>' } });
  expect(r.alerting.receivers[4]).toMatchObject({ urls: ['https://am1.example:9093/', 'https://<secret>@am2.example:9093/'], bearer_token: '<secret>' });
  expect(r.alerting.heartbeat?.url).toBe('https://hc-ping.example.com/<secret>');
  expect(r.alerting.external_labels).toEqual({ cluster: 'lb-paris-1' });
  expect(r.peers![0].url).toBe('http://ka2:9723/');
  expect(r.web.basic_auth_users).toEqual({ prom: '<secret>' });
  expect(cfg.alerting.api_token).toBe('api-token-0123456789'); // the original is untouched
});
