// The TLS an https peer connection uses: whom it trusts and the client certificate it shows. A
// peer's files are read once per connection object; a problem names the key and the file, never
// a file's content, and is what the peer's connection attempts fail with.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { RequestOptions } from 'node:https';
import { trustPinned } from '../http/pinnedCertificate';
import type { PeerTarget } from './peerClient';

export function peerTlsOptions(t: PeerTarget): { options: RequestOptions; error?: undefined } | { error: string } {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  };
  try {
    const ca: Array<string | Buffer> = t.caFile ? [read('ca_file', t.caFile)] : t.extraCaFiles?.length || t.pinnedCertFile ? [...rootCertificates] : [];
    for (const f of t.extraCaFiles ?? []) ca.push(read('client_ca_file', f));
    const pinned = t.pinnedCertFile ? trustPinned(read('cert_file', t.pinnedCertFile), ca) : undefined;
    const options: RequestOptions = { rejectUnauthorized: !t.insecureSkipVerify, ...(ca.length ? { ca } : {}), ...pinned };
    if (t.clientCert) {
      options.cert = read('cert_file', t.clientCert.certFile);
      options.key = read('key_file', t.clientCert.keyFile);
    }
    return { options };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
