// Trusting one known certificate for a connection, whatever address reaches it: the agent's own
// certificate, which the CLI reads from the agent's config and which the nodes of a pair often
// share, is good although its names are not the loopback or peer address connected to. Any other
// certificate is checked as usual, against the CAs given and by name.
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

export interface PinnedTrust {
  ca: Array<string | Buffer>;
  checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** TLS options trusting `cas` and the certificate `pem`; undefined when `pem` is not a certificate. */
export function trustPinned(pem: string | Buffer, cas: Array<string | Buffer>): PinnedTrust | undefined {
  let pinned: string;
  try {
    pinned = new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
  return {
    ca: [...cas, pem],
    checkServerIdentity: (host, cert) => (cert.fingerprint256 === pinned ? undefined : checkServerIdentity(host, cert)),
  };
}
