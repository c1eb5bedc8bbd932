// The benchmarks' names for the lab's inbox (test/lab/inbox.ts): the webhook receiver in the
// client namespace and its JSON-lines file.
import type { Lab } from '../test/lab/lab';
import { startInbox } from '../test/lab/inbox';

export { INBOX_PORT as RECEIVER_PORT, readInbox as received, type InboxEntry as Received } from '../test/lab/inbox';

/** Starts the receiver on the client namespace (192.0.2.50); resolves with its file. */
export async function startReceiver(lab: Lab): Promise<string> {
  return (await startInbox(lab)).file;
}
