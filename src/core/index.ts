/**
 * The LMJCore engine (docs/storage.md, On-disk format) over lmdb-js: `openStore(path, options)` gives an
 * {@link LmjStore} whose transactions read and write objects, sets and documents.
 * See docs/storage.md for the on-disk format and durability guarantees.
 */
export * from './types.js';
export { openStore, DEFAULT_FAST_FLUSH_MS, MAX_GROUP } from './store.js';
export { wrapError, commitFailure, committed } from './lmdb-errors.js';
export { DEFAULT_MAP_SIZE, lmdbWritesFormatV1 } from './lmdb-env.js';
export { KIND_BOX, KIND_REF, KIND_SCALAR, MAX_DOC_DEPTH } from './document.js';
export { MARKER } from './bytes.js';
export { AGG_NO_OWNER, ELEMENT_LEN, KIND_NONE, KIND_NUMBER, KIND_OTHER, ReadingColumns, fastNumber, type AggregateRequest } from './reading-columns.js';

/** The fixed pointer of a device instance's root object: 0x01 followed by 16 zero bytes (docs/codec.md §1). */
export const ROOT_PTR: Buffer = Buffer.concat([Buffer.from([0x01]), Buffer.alloc(16)]);

/** A fresh copy of {@link ROOT_PTR} (safe to mutate). */
export function rootPtr(): Buffer {
  return Buffer.from(ROOT_PTR);
}
