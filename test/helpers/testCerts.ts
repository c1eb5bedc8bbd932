// Certificates for TLS tests, made with openssl (in Debian's base system) in a test's directory:
// self-signed ones, and a client CA with the leaves it signs. Short-lived RSA keys, unencrypted.
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

const openssl = (dir: string, ...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'ignore', timeout: 20_000 });

/** <name>.pem and <name>.key, self-signed for `cn` with `san` (e.g. "IP:127.0.0.1,DNS:lb1.example"). */
export function selfSignedCert(dir: string, name: string, cn: string, san: string): CertFiles {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/** <name>.pem and <name>.key for `cn` with `san`, signed by the CA <ca>.pem / <ca>.key (see selfSignedCert). */
export function caSignedCert(dir: string, ca: string, name: string, cn: string, san: string): CertFiles {
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-copy_extensions', 'copy', '-out', `${name}.pem`);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/**
 * What client-certificate tests use, in dir: cert.pem/key.pem (the agent, self-signed for
 * 127.0.0.1), ca.pem/ca.key (a client CA), ops and other (clients it signs, SAN ops.example and
 * other.example) and stranger (self-signed, SAN ops.example, not signed by the CA).
 */
export function clientCertTestSet(dir: string): void {
  selfSignedCert(dir, 'cert', '127.0.0.1', 'IP:127.0.0.1');
  // The agent's key under the name key.pem, as web configs in the tests name it.
  renameSync(join(dir, 'cert.key'), join(dir, 'key.pem'));
  selfSignedCert(dir, 'ca', 'client-ca', 'DNS:client-ca');
  for (const name of ['ops', 'other']) caSignedCert(dir, 'ca', name, name, `DNS:${name}.example`);
  selfSignedCert(dir, 'stranger', 'stranger', 'DNS:ops.example');
}
