// The receivers of each alerting.receivers entry, by type. `deps.threads` keeps what threaded
// receivers (email, Slack) remember per incident; the agent passes one backed by the outbox journal.
// createReceivers gives one receiver per outbox queue (an Alertmanager receiver: one per member of
// its cluster); createReceiver one per config entry, for senders without an outbox.
import type { ReceiverConfig } from '../../config/schema';
import type { Receiver, ReceiverDeps } from './receiver';
import { slackReceiver } from './slack';
import { emailReceiver } from './email';
import { webhookReceiver } from './webhook';
import { alertmanagerFanOut, alertmanagerReceivers } from './alertmanager';

export function createReceiver(cfg: ReceiverConfig, deps: ReceiverDeps): Receiver {
  switch (cfg.type) {
    case 'slack':
      return slackReceiver(cfg, deps);
    case 'email':
      return emailReceiver(cfg, deps);
    case 'webhook':
      return webhookReceiver(cfg, deps);
    case 'alertmanager':
      return alertmanagerFanOut(cfg, deps);
  }
}

/** One receiver per outbox queue: the receiver itself, or each member of an Alertmanager cluster. */
export function createReceivers(cfg: ReceiverConfig, deps: ReceiverDeps): Receiver[] {
  return cfg.type === 'alertmanager' ? alertmanagerReceivers(cfg, deps) : [createReceiver(cfg, deps)];
}
