/**
 * The TLS material of a listener (gateway MQTT and HTTPS, router, data node): the
 * `--tls-cert`, `--tls-key` and `--tls-ca` PEM files, read once at start with errors
 * that name the file and what is wrong with it:
 *
 * - TLS_FILE_MISSING: the path does not exist;
 * - TLS_FILE_UNREADABLE: it exists but cannot be read (permissions, a directory);
 * - TLS_BAD_PEM: no parsable certificate or private key in it;
 * - TLS_KEY_MISMATCH: the key is not the certificate's.
 *
 * A server certificate outside its validity period is not an error (the operator may be
 * renewing it; clients refuse it anyway) but a warning the caller logs.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LmjError } from '../errors.js';

/** The configured files (`tls.cert`, `tls.key`, `tls.ca`). */
export interface TlsFiles {
  cert?: string | undefined;
  key?: string | undefined;
  ca?: string | undefined;
}

/** Loaded, checked material, ready for `tls.createServer` / `https` options. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** CA bundle that client certificates must chain to (absent: no CA configured). */
  ca: Buffer | undefined;
  /** The server certificate's subject, e.g. `CN=gateway-1`. */
  subject: string;
  /** The server certificate's notAfter. */
  validTo: Date;
  /** Problems worth a log line that do not stop the listener (expired certificate…). */
  warnings: string[];
}

/** What `node:fs` says when a path is missing. */
function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT' || (err as NodeJS.ErrnoException)?.code === 'ENOTDIR';
}

/** Reads one configured file, turning fs errors into TLS_FILE_MISSING / TLS_FILE_UNREADABLE. */
export function readTlsFile(path: string, what: 'cert' | 'key' | 'ca'): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = isMissing(err) ? 'TLS_FILE_MISSING' : 'TLS_FILE_UNREADABLE';
    const why = isMissing(err) ? 'does not exist' : `cannot be read: ${(err as Error).message}`;
    throw new LmjError(code, `TLS ${what} file ${path} ${why}`, { cause: err, details: { key: `tls.${what}`, path } });
  }
}

function parseCert(pem: Buffer, path: string, what: 'cert' | 'ca'): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new LmjError('TLS_BAD_PEM', `TLS ${what} file ${path} holds no valid PEM certificate: ${(err as Error).message}`, {
      cause: err,
      details: { key: `tls.${what}`, path },
    });
  }
}

function parseKey(pem: Buffer, path: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new LmjError('TLS_BAD_PEM', `TLS key file ${path} holds no valid unencrypted PEM private key: ${(err as Error).message}`, {
      cause: err,
      details: { key: 'tls.key', path },
    });
  }
}

/** Warnings about the certificate's validity period at `now`. */
function validityWarnings(cert: X509Certificate, path: string, now: number): string[] {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  if (to < now) return [`TLS certificate ${path} expired on ${new Date(to).toISOString()}: clients will refuse it`];
  if (from > now) return [`TLS certificate ${path} is not valid before ${new Date(from).toISOString()}: clients will refuse it`];
  return [];
}

/**
 * Reads and checks cert, key and (optional) CA. Throws TLS_* errors naming the file;
 * `files.cert` and `files.key` must both be set (the config loader checks that first).
 */
export function loadTlsMaterial(files: TlsFiles & { cert: string; key: string }, now = Date.now()): TlsMaterial {
  const certPem = readTlsFile(files.cert, 'cert');
  const keyPem = readTlsFile(files.key, 'key');
  const caPem = files.ca === undefined ? undefined : readTlsFile(files.ca, 'ca');
  const cert = parseCert(certPem, files.cert, 'cert');
  const key = parseKey(keyPem, files.key);
  if (!cert.checkPrivateKey(key)) {
    throw new LmjError('TLS_KEY_MISMATCH', `TLS key ${files.key} does not belong to the certificate ${files.cert}`, {
      details: { key: 'tls.key', path: files.key, cert: files.cert },
    });
  }
  if (caPem !== undefined && files.ca !== undefined) parseCert(caPem, files.ca, 'ca');
  return {
    cert: certPem,
    key: keyPem,
    ca: caPem,
    subject: cert.subject.replace(/\n/g, ', '),
    validTo: new Date(Date.parse(cert.validTo)),
    warnings: validityWarnings(cert, files.cert, now),
  };
}

/** Reads a CA bundle alone (`--upstream-ca`): TLS_FILE_* or TLS_BAD_PEM on a bad file. */
export function loadCaBundle(path: string, key = 'upstream-ca'): Buffer {
  const pem = readTlsFile(path, 'ca');
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new LmjError('TLS_BAD_PEM', `CA file ${path} holds no valid PEM certificate: ${(err as Error).message}`, {
      cause: err,
      details: { key, path },
    });
  }
  return pem;
}
