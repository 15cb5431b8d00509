/** The LMJCore key shapes (DESIGN §3), checked while walking a suspect instance. */
import { PTR_LEN } from '../../codec/types.js';

/** Why `key` cannot be a key of database `db`, or undefined when it can. */
export function badKey(db: 'main' | 'set', key: Buffer): string | undefined {
  // main: pointer ‖ member name (1..493 bytes); set: the pointer alone. Type byte 1 or 2.
  const shapeOk = db === 'main' ? key.length > PTR_LEN : key.length === PTR_LEN;
  if (shapeOk && (key[0] === 1 || key[0] === 2)) return undefined;
  return `${db}: malformed key ${key.subarray(0, 40).toString('hex')} (length ${key.length})`;
}
