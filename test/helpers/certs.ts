/**
 * Certificates for the TLS tests, made by the real `openssl` (Debian's 3.0) in the test's
 * temp dir: a CA, server certificates for 127.0.0.1/localhost and client certificates
 * with a chosen CN, each also as an expired variant. `openssl x509 -req -days -1` puts
 * the notAfter one day before the notBefore (now), so the certificate is expired the
 * moment it is made — no faked clock needed.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of one key pair and its certificate. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** A test CA: issues server and client certificates under `dir`. */
export interface TestCa extends CertFiles {
  /**
   * Server certificate for `127.0.0.1`, `::1` and `localhost` (`days < 0`: already expired);
   * `clientAuth`: also usable as a client certificate (a router calling nodes that require one).
   */
  server(name: string, days?: number, opts?: { clientAuth?: boolean }): CertFiles;
  /** Client certificate with subject CN `cn` (`days < 0`: already expired). */
  client(cn: string, days?: number): CertFiles;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/** Makes a CA named `name` (self-signed, 2 days) in `dir`. */
export function makeCa(dir: string, name = 'test-ca'): TestCa {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  newKey(key);
  openssl(['req', '-x509', '-new', '-key', key, '-out', cert, '-subj', `/CN=${name}`, '-days', '2']);
  let serial = 1;
  const issue = (file: string, cn: string, days: number, ext: string): CertFiles => {
    const k = join(dir, `${file}.key`);
    const csr = join(dir, `${file}.csr`);
    const c = join(dir, `${file}.crt`);
    const extFile = join(dir, `${file}.ext`);
    newKey(k);
    openssl(['req', '-new', '-key', k, '-out', csr, '-subj', `/CN=${cn}`]);
    writeFileSync(extFile, ext);
    openssl(['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-set_serial', String(serial++), '-days', String(days), '-extfile', extFile, '-out', c]);
    return { cert: c, key: k };
  };
  return {
    cert,
    key,
    server: (file, days = 2, opts = {}) =>
      issue(file, 'localhost', days, `subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth${opts.clientAuth === true ? ',clientAuth' : ''}\n`),
    client: (cn, days = 2) => issue(`client-${cn}-${days}`, cn, days, 'extendedKeyUsage=clientAuth\n'),
  };
}
