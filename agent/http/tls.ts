// The agent's server TLS as exporter-toolkit defines it (Go's crypto/tls names), turned into what
// node:https takes: certificate and key, the client-certificate policy, TLS versions, cipher suites
// and curves. One place, used to check a web config when it is read and to listen with it.
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { SecureVersion } from 'node:tls';
import type { ServerOptions } from 'node:https';

/** Go's tls.ClientAuthType names, as exporter-toolkit's client_auth_type takes them. */
export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** exporter-toolkit's min_version / max_version values. */
export const TLS_VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/** Go's cipher suite names (tls.CipherSuites()) as OpenSSL names them; the TLS 1.3 ones map to themselves. */
export const CIPHER_SUITES: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

// In Go, cipher_suites never touches TLS 1.3; node disables TLS 1.3 when its list names none of
// TLS 1.3's suites, so they are added back.
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];

/** Go's tls.CurveID names as OpenSSL's group names. */
export const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

/** The server's TLS, paths absolute. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** Default NoClientCert. */
  clientAuth?: ClientAuthType;
  clientCaFile?: string;
  /** A client certificate must carry one of these SANs (DNS, IP, e-mail or URI), exactly. */
  clientAllowedSans?: string[];
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** Go names (keys of CIPHER_SUITES), in preference order. */
  cipherSuites?: string[];
  /** Default true, as in exporter-toolkit. */
  preferServerCipherSuites?: boolean;
  /** Go names (keys of CURVES). */
  curvePreferences?: string[];
}

/** node:https options for this TLS config; reads the files (throws with the path when one cannot be read). */
export function tlsServerOptions(tls: TlsConfig): ServerOptions {
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const auth = tls.clientAuth ?? 'NoClientCert';
  const opts: ServerOptions = {
    cert: read('cert_file', tls.certFile),
    key: read('key_file', tls.keyFile),
    minVersion: tls.minVersion ?? 'TLSv1.2',
    maxVersion: tls.maxVersion ?? 'TLSv1.3',
    honorCipherOrder: tls.preferServerCipherSuites ?? true,
    requestCert: auth !== 'NoClientCert',
    // Only RequireAndVerifyClientCert fails the handshake itself; the policies that let a client in
    // without a (verified) certificate are judged per connection by clientCertRefusal.
    rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
  };
  if (tls.clientCaFile) opts.ca = read('client_ca_file', tls.clientCaFile);
  if (tls.cipherSuites?.length) {
    const named = tls.cipherSuites.map((s) => CIPHER_SUITES[s]);
    opts.ciphers = [...TLS13_SUITES.filter((s) => !named.includes(s)), ...named].join(':');
  }
  if (tls.curvePreferences?.length) opts.ecdhCurve = tls.curvePreferences.map((c) => CURVES[c]).join(':');
  return opts;
}

/** The server refuses a client without a certificate (so a client of it, the CLI or a peer, must show one). */
export function requiresClientCert(tls: TlsConfig | undefined): boolean {
  return tls?.clientAuth === 'RequireAnyClientCert' || tls?.clientAuth === 'RequireAndVerifyClientCert';
}

/** SANs of a peer certificate as node prints them ("DNS:a, IP Address:1.2.3.4, email:x, URI:y"), values only. */
function sans(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  return subjectaltname.split(/,\s*/).map((s) => s.slice(s.indexOf(':') + 1).replace(/^"|"$/g, ''));
}

/** Why a connection must be closed under this policy (undefined: let it in). Called once the handshake is done. */
export function clientCertRefusal(socket: TLSSocket, tls: TlsConfig): string | undefined {
  const auth = tls.clientAuth ?? 'NoClientCert';
  if (auth === 'NoClientCert' || auth === 'RequestClientCert') return undefined;
  const cert = socket.getPeerCertificate();
  const given = Boolean(cert && Object.keys(cert).length);
  if (!given) return auth === 'VerifyClientCertIfGiven' ? undefined : 'no client certificate';
  if ((auth === 'VerifyClientCertIfGiven' || auth === 'RequireAndVerifyClientCert') && !socket.authorized) return `client certificate not verified: ${String(socket.authorizationError)}`;
  if (tls.clientAllowedSans?.length) {
    const have = sans(cert.subjectaltname);
    if (!have.some((s) => tls.clientAllowedSans!.includes(s))) return 'client certificate has none of client_allowed_sans';
  }
  return undefined;
}
