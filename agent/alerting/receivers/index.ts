// One receiver per alerting.receivers entry, by type. `deps.threads` keeps what threaded receivers
// (email, Slack) remember per incident; the agent passes one backed by the outbox journal.
import type { ReceiverConfig } from '../../config/schema';
import type { Receiver, ReceiverDeps } from './receiver';
import { slackReceiver } from './slack';
import { emailReceiver } from './email';
import { webhookReceiver } from './webhook';
import { alertmanagerReceiver } from './alertmanager';

export function createReceiver(cfg: ReceiverConfig, deps: ReceiverDeps): Receiver {
  switch (cfg.type) {
    case 'slack':
      return slackReceiver(cfg, deps);
    case 'email':
      return emailReceiver(cfg, deps);
    case 'webhook':
      return webhookReceiver(cfg, deps);
    case 'alertmanager':
      return alertmanagerReceiver(cfg, deps);
  }
}
