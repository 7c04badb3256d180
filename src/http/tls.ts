// TLS on the HTTP port (http.tls: { cert, key }, PEM files): the same server, https:// and wss:// for the
// page, the API, the streams, both camera endpoints and /mqtt. The certificate is read at start and again
// on SIGHUP (setSecureContext: connections already open keep the certificate they started with), so a
// renewed certificate (certbot, acme.sh) needs no restart.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  /** PEM certificate (chain: the server's certificate first, then intermediates). */
  cert: string;
  /** PEM private key of the certificate. */
  key: string;
}

/** The one web server of the HTTP port: plain HTTP, or HTTPS once loadTls() has given it a certificate. */
export function createWebServer(listener: RequestListener, tls: TlsFiles | undefined): Server {
  if (!tls) return createHttpServer(listener);
  // The certificate comes with loadTls() at start, where a bad file is a startup error naming the key.
  return createHttpsServer({}, listener) as unknown as Server;
}

/**
 * Read and check the certificate and key, then give them to the server. Throws an Error that names the
 * setting (http.tls.cert / http.tls.key) and the file; the server keeps its current certificate then.
 */
export function loadTls(server: Server, tls: TlsFiles): { subject: string; validTo: string; fingerprint: string } {
  const read = (key: keyof TlsFiles): string => {
    try {
      return readFileSync(tls[key], 'utf8');
    } catch (err) {
      throw new Error(`http.tls.${key}: cannot read ${tls[key]}: ${(err as Error).message}`);
    }
  };
  const opts: SecureContextOptions = { cert: read('cert'), key: read('key') };
  try {
    // Parses both and checks that the key belongs to the certificate.
    createSecureContext(opts);
  } catch (err) {
    throw new Error(
      `http.tls: ${tls.cert} and ${tls.key} are not a PEM certificate and its private key (${(err as Error).message})`,
    );
  }
  (server as unknown as HttpsServer).setSecureContext(opts);
  return describe(opts.cert as string);
}

/** What the log says about a certificate: whom it is for, until when, and its SHA-256 fingerprint. */
function describe(pem: string): { subject: string; validTo: string; fingerprint: string } {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0] ?? pem;
  try {
    const c = new X509Certificate(first);
    return { subject: c.subject.replace(/\n/g, ', '), validTo: c.validTo, fingerprint: c.fingerprint256 };
  } catch {
    return { subject: '?', validTo: '?', fingerprint: '?' };
  }
}
