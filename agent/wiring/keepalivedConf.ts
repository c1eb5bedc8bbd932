// The keepalived.conf source: what each instance should be (VIPs, advert interval, peers, sync
// group), read into the store before the probes start (they check those VIPs), and served parsed
// at GET /api/v1/keepalived/config. Its own module so that changing keepalived.config re-reads the
// file without reconnecting D-Bus or restarting the probes; what it parsed reaches the probes
// through w.shared.keepalivedConf.
import type { ModuleFactory } from '../module';
import { KeepalivedConfSource } from '../keepalived/confSource';
import { sendJson } from '../http/server';
import type { KeepalivedConf } from '../keepalived/confTypes';

/** A script command line as the API shows it: the program only; arguments may hold credentials. */
export function scriptPathOnly(cmd: string | undefined): string | undefined {
  if (cmd === undefined) return undefined;
  const t = cmd.trim().replace(/^["']/, '');
  const path = t.split(/[\s"']/)[0];
  return path.length < t.replace(/["']$/, '').length ? `${path} <redacted>` : path;
}

type NotifyConf = KeepalivedConf['instances'][number]['notify'];
const notifyPathsOnly = (n: NotifyConf): NotifyConf => Object.fromEntries(Object.entries(n).map(([k, v]) => [k, scriptPathOnly(v)]));

/** The parsed keepalived.conf without script arguments (track and notify scripts). */
export function publicKeepalivedConf(c: KeepalivedConf): KeepalivedConf {
  return {
    ...c,
    scripts: c.scripts.map((s) => ({ ...s, script: scriptPathOnly(s.script) })),
    instances: c.instances.map((i) => ({ ...i, notify: notifyPathsOnly(i.notify) })),
    syncGroups: c.syncGroups.map((g) => ({ ...g, notify: notifyPathsOnly(g.notify) })),
  };
}

export const keepalivedConfModule: ModuleFactory = {
  name: 'keepalived_conf',
  slice: (c) => ({ config: c.keepalived.config }),
  build(w) {
    const path = w.config.keepalived.config;
    const conf = new KeepalivedConfSource({ path, store: w.store, clock: w.clock, log: w.log.child({ source: 'keepalived_conf' }) });
    w.shared.keepalivedConf.follow(conf);
    return {
      components: [conf],
      routes: [
        {
          method: 'GET',
          path: '/api/v1/keepalived/config',
          auth: 'web',
          handler(_req, res) {
            // The parsed keepalived.conf: never holds auth_pass (the parser drops it), and script
            // command lines lose their arguments (seen: `curl -u admin:<password> ...`).
            const c = conf.current();
            if (!c) return sendJson(res, 503, { error: 'keepalived.conf not read yet' });
            sendJson(res, 200, { path, ...publicKeepalivedConf(c) });
          },
        },
      ],
    };
  },
};
