// One receiver per alerting.receivers entry, by type. `threads` keeps what threaded receivers
// (email, Slack) remember per incident; the agent passes one backed by the outbox journal.
import type { ReceiverConfig } from '../../config/schema';
import type { Receiver } from './receiver';
import { slackReceiver } from './slack';
import { emailReceiver } from './email';
import { webhookReceiver } from './webhook';
import { alertmanagerReceiver } from './alertmanager';
import { memoryThreadStore, type ThreadStore } from './threads';

export function createReceiver(cfg: ReceiverConfig, now: () => number = Date.now, threads: ThreadStore = memoryThreadStore()): Receiver {
  switch (cfg.type) {
    case 'slack':
      return slackReceiver(cfg, threads, now);
    case 'email':
      return emailReceiver(cfg, threads, now);
    case 'webhook':
      return webhookReceiver(cfg);
    case 'alertmanager':
      return alertmanagerReceiver(cfg, now);
  }
}
