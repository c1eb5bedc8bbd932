// The keepalived.conf source: what each instance should be (VIPs, advert interval, peers, sync
// group), read into the store before the probes start (they check those VIPs), and served parsed
// at GET /api/v1/keepalived/config. Its own module so that changing keepalived.config re-reads the
// file without reconnecting D-Bus or restarting the probes; what it parsed reaches the probes
// through w.shared.keepalivedConf.
import type { ModuleFactory } from '../module';
import { KeepalivedConfSource } from '../keepalived/confSource';
import { sendJson } from '../http/server';

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
            // The parsed keepalived.conf: never holds auth_pass (the parser drops it).
            const c = conf.current();
            if (!c) return sendJson(res, 503, { error: 'keepalived.conf not read yet' });
            sendJson(res, 200, { path, ...c });
          },
        },
      ],
    };
  },
};
