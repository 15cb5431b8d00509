/** Encodes reading documents as JSON text or CBOR bytes, as a sensor would put them on the wire. */
import { Encoder } from 'cbor-x';

/** Wire format of a simulated payload. */
export type SimFormat = 'json' | 'cbor';

// Plain CBOR maps: no record extension (tag 105) and no other tags, which the gateway refuses.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, pack: false });

/** The payload bytes of one document. */
export function encodeDocument(doc: unknown, format: SimFormat): Buffer {
  return format === 'json' ? Buffer.from(JSON.stringify(doc), 'utf8') : Buffer.from(cbor.encode(doc));
}
