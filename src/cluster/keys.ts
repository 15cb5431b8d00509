/**
 * The etcd key layout of a cluster (format version 1). Everything lives under
 * {@link ROOT}; the version is in the prefix and in every value's `format` field, so a
 * later layout can live next to this one and a reader can tell a newer writer apart.
 *
 * ```
 * /lmj/v1/table/meta              the table's header (TableMeta): version, partitions per range, state
 * /lmj/v1/table/ranges/<from>     one range (RangeRecord), <from> zero-padded to 5 digits
 * /lmj/v1/nodes/<id>              a data node that ever joined (NodeRecord), persistent
 * /lmj/v1/groups/<id>             a router group that can own ranges (GroupRecord), persistent
 * /lmj/v1/live/<id>               a live data node (LiveNodeRecord), under the node's lease
 * /lmj/v1/moves/<id>              a range move and its phase (MoveRecord), persistent
 * /lmj/v1/election/move-driver/…  the etcd3 election of the router that drives moves
 * ```
 */
import { LmjError } from '../errors.js';

/** The layout's format version (prefix and `format` field of every value). */
export const FORMAT_VERSION = 1;
/** Prefix of every key of this layout. */
export const ROOT = `/lmj/v${FORMAT_VERSION}/`;
/** Prefix of the routing table (meta + ranges). */
export const TABLE_PREFIX = `${ROOT}table/`;
/** The table header. */
export const META_KEY = `${TABLE_PREFIX}meta`;
/** Prefix of the range keys. */
export const RANGES_PREFIX = `${TABLE_PREFIX}ranges/`;
/** Prefix of the persistent node records. */
export const NODES_PREFIX = `${ROOT}nodes/`;
/** Prefix of the router group records. */
export const GROUPS_PREFIX = `${ROOT}groups/`;
/** Prefix of the leased live-node records. */
export const LIVE_PREFIX = `${ROOT}live/`;

/** Prefix of the range move records. */
export const MOVES_PREFIX = `${ROOT}moves/`;

/** Number of partitions (pointer bytes 1–2). */
export const PARTITIONS = 65536;

/** Node and group ids: what the single-process router accepts, so a table can move between them. */
export const MEMBER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The key of the range starting at `from`. */
export function rangeKey(from: number): string {
  return `${RANGES_PREFIX}${String(from).padStart(5, '0')}`;
}

/** The `from` of a range key, or undefined when the key is not a well-formed range key. */
export function rangeFromKey(key: string): number | undefined {
  if (!key.startsWith(RANGES_PREFIX)) return undefined;
  const rest = key.slice(RANGES_PREFIX.length);
  if (!/^\d{5}$/.test(rest)) return undefined;
  const from = Number(rest);
  return from < PARTITIONS ? from : undefined;
}

/** Throws BAD_REQUEST unless `id` is a valid node or group id. */
export function checkMemberId(id: string, what: 'node' | 'group'): string {
  if (!MEMBER_ID.test(id)) throw new LmjError('BAD_REQUEST', `${what} id must be 1..64 of A-Z a-z 0-9 _ -`, { details: { [what]: id.slice(0, 80) } });
  return id;
}

/** The persistent record key of a node. */
export function nodeKey(id: string): string {
  return `${NODES_PREFIX}${checkMemberId(id, 'node')}`;
}

/** The leased liveness key of a node. */
export function liveKey(id: string): string {
  return `${LIVE_PREFIX}${checkMemberId(id, 'node')}`;
}

/** The record key of a router group. */
export function groupKey(id: string): string {
  return `${GROUPS_PREFIX}${checkMemberId(id, 'group')}`;
}

/** Move ids: what {@link MEMBER_ID} allows (the CLI makes them from time and randomness). */
export function moveKey(id: string): string {
  if (!MEMBER_ID.test(id)) throw new LmjError('BAD_REQUEST', 'move id must be 1..64 of A-Z a-z 0-9 _ -', { details: { move: id.slice(0, 80) } });
  return `${MOVES_PREFIX}${id}`;
}
