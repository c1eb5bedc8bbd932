// The core module: the metrics endpoint with the keepalived and self collectors (and the
// keepalived exporter's per-VIP check script when configured), the node's state API, health
// (/healthz, /-/healthy, /-/ready) and reload endpoints.
import type { ModuleFactory } from '../module';
import { keepalivedCollector } from '../../exporters/keepalived';
import { selfCollector } from '../../exporters/self';
import { groupsCollector } from '../../exporters/groups';
import { processCollector } from '../../exporters/process';
import { eventLoopCollector } from '../../exporters/eventLoop';
import { checkScriptCollector } from '../../exporters/checkScript';
import { createCheckScript } from '../probes/checkScript';
import { sendJson } from '../http/server';
import { acceptsGzip, GzipAnswers } from '../http/gzipAnswer';
import { BUILD } from '../version';
import { ConfigError } from '../config/load';

/**
 * A rejected reload as the HTTP answer tells it: the keys (or YAML lines) at fault and never their
 * values, which may be secrets; the full reasons go to the agent's log only.
 */
export function reloadRejection(e: unknown): string {
  if (!(e instanceof ConfigError)) return 'config rejected; the reason is in the agent log';
  const where = e.problems.map((p) => {
    const line = /^line (\d+) column \d+:/.exec(p);
    if (line) return `YAML syntax at line ${line[1]}`;
    if (p.startsWith('yaml:')) return 'YAML syntax';
    const key = p.slice(0, Math.max(0, p.indexOf(':')));
    return /^[A-Za-z0-9_.()\[\]-]+$/.test(key) ? key : '(unnamed key)';
  });
  return `config rejected at: ${[...new Set(where)].join(', ')} (details in the agent log)`;
}

export const coreModule: ModuleFactory = {
  name: 'core',
  slice: (c) => ({ node: c.node, check_script: c.keepalived.check_script }),
  build(w) {
    const loop = eventLoopCollector({ clock: w.clock });
    const gzipped = new GzipAnswers();
    const cs = w.config.keepalived.check_script;
    const checkScript = cs
      ? createCheckScript({ command: cs.command, timeoutMs: cs.timeout, intervalMs: cs.interval, clock: w.clock, log: w.log.child({ module: 'check_script' }) })
      : undefined;
    return {
      // The loop monitor runs between scrapes; a check script may be running when the module stops.
      components: [
        { name: 'event_loop_monitor', async start() {}, async stop() { loop.close?.(); } },
        ...(checkScript ? [{ name: 'check_script', async start() {}, async stop() { checkScript.close(); } }] : []),
      ],
      collectors: [
        keepalivedCollector(w.store),
        ...(checkScript ? [checkScriptCollector(w.store, checkScript)] : []),
        selfCollector(w.store, w.clock, { ...BUILD, version: w.version }, w.agent),
        groupsCollector(w.store),
        processCollector(w.clock),
        loop,
      ],
      routes: [
        {
          method: 'GET',
          path: w.agent.telemetryPath,
          auth: 'web',
          async handler(req, res) {
            const { contentType, body, buffer } = await w.agent.scrape();
            // The kept buffer: no UTF-8 length and encoding pass over the body per request.
            const plain = buffer ?? Buffer.from(body);
            let gz: Buffer | undefined;
            if (acceptsGzip(req.headers)) gz = await gzipped.get(plain).catch(() => undefined);
            const head = { 'content-type': contentType, vary: 'Accept-Encoding' };
            if (gz) res.writeHead(200, { ...head, 'content-encoding': 'gzip', 'content-length': gz.length });
            else res.writeHead(200, { ...head, 'content-length': plain.length });
            res.end(gz ?? plain);
          },
        },
        {
          method: 'GET',
          path: '/healthz',
          auth: 'open',
          handler(_req, res) {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('ok\n');
          },
        },
        {
          // Prometheus's convention: the process is up and serving.
          method: 'GET',
          path: '/-/healthy',
          auth: 'open',
          handler(_req, res) {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('ok\n');
          },
        },
        {
          // Ready: the config is loaded and every source and probe has been started.
          method: 'GET',
          path: '/-/ready',
          auth: 'open',
          handler(_req, res) {
            const ready = w.agent.ready;
            res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
            res.end(ready ? 'ready\n' : 'starting\n');
          },
        },
        {
          method: 'GET',
          path: '/api/v1/state',
          auth: 'web',
          handler(_req, res) {
            sendJson(res, 200, w.store.state);
          },
        },
        {
          method: 'POST',
          path: '/-/reload',
          auth: 'lifecycle',
          async handler(_req, res) {
            try {
              await w.agent.reload();
              sendJson(res, 200, { status: 'reloaded' });
            } catch (e) {
              sendJson(res, 400, { status: 'rejected', error: reloadRejection(e) });
            }
          },
        },
      ],
    };
  },
};
