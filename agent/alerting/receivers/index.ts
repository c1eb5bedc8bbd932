// One receiver per alerting.receivers entry, by type.
import type { ReceiverConfig } from '../../config/schema';
import type { Receiver } from './receiver';
import { slackReceiver } from './slack';
import { emailReceiver } from './email';
import { webhookReceiver } from './webhook';
import { alertmanagerReceiver } from './alertmanager';

export function createReceiver(cfg: ReceiverConfig, now: () => number = Date.now): Receiver {
  switch (cfg.type) {
    case 'slack':
      return slackReceiver(cfg);
    case 'email':
      return emailReceiver(cfg);
    case 'webhook':
      return webhookReceiver(cfg);
    case 'alertmanager':
      return alertmanagerReceiver(cfg, now);
  }
}
