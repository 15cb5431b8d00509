/**
 * Recognising a failed TLS handshake in a client error (undici, node:tls): the
 * certificate did not verify against the trusted CA (another CA, expired, another name)
 * or the handshake itself failed. Callers turn it into an error that says which CA
 * option to check, instead of a bare "cannot reach".
 */

/** Verification codes of node:tls for a peer certificate that is not trusted. */
const TLS_VERIFY_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** The verification or SSL code when `err` (or one of its causes) is a failed TLS handshake, else undefined. */
export function tlsFailure(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (TLS_VERIFY_CODES.has(code) || code.startsWith('ERR_SSL_'))) return code;
  }
  return undefined;
}
