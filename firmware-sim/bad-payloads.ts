/**
 * Fault injection: malformed publications a real fleet produces now and then (broken
 * firmware, bit rot, misconfigured devices). Each is something the gateway must refuse
 * with a clear error: the payload kinds fail the codec, the topic kinds fail topic or
 * device-id validation. They are counted separately and never written to the ledger.
 */
import { encodeDocument } from './encode.js';
import type { Rng } from './rng.js';

/** The kinds of bad publication the simulator injects. */
export const BAD_KINDS = [
  'truncated-json',
  'invalid-cbor',
  'too-deep',
  'huge-member',
  'non-finite',
  'empty-key',
  'wrong-topic',
  'bad-device-id',
] as const;

/** One kind of bad publication. */
export type BadKind = (typeof BAD_KINDS)[number];

/** A bad publication: where it goes and what it carries. */
export interface BadPublication {
  kind: BadKind;
  topic: string;
  payload: Buffer;
}

/** Nesting depth of `too-deep` payloads: far beyond the gateway's default limit of 32. */
export const TOO_DEEP_LEVELS = 100;
/** Length of the member name in `huge-member` payloads: over the 493-byte limit. */
export const HUGE_MEMBER_LEN = 600;

/** Device ids the gateway must refuse (path tricks, bad characters, too long). */
export const BAD_DEVICE_IDS: readonly string[] = ['..', '.', '../x', 'a b', '%2e%2e', 'x'.repeat(65), 'dév', 'a\\b'];

function deep(levels: number): string {
  return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
}

/**
 * A malformed payload of one of the payload kinds (not the topic kinds), derived from a
 * valid document so it looks like a real reading gone wrong.
 */
export function badPayload(kind: Exclude<BadKind, 'wrong-topic' | 'bad-device-id'>, doc: Record<string, unknown>, rng: Rng): Buffer {
  switch (kind) {
    case 'truncated-json': {
      const full = JSON.stringify(doc);
      // Cut anywhere before the closing brace: every such prefix of an object is invalid JSON.
      return Buffer.from(full.slice(0, rng.int(1, full.length - 1)), 'utf8');
    }
    case 'invalid-cbor': {
      const full = encodeDocument(doc, 'cbor');
      return full.subarray(0, rng.int(1, full.length - 1));
    }
    case 'too-deep':
      return Buffer.from(deep(TOO_DEEP_LEVELS), 'utf8');
    case 'huge-member':
      return Buffer.from(JSON.stringify({ ...doc, ['m'.repeat(HUGE_MEMBER_LEN)]: 1 }), 'utf8');
    case 'non-finite':
      // JSON.parse turns 1e999 into Infinity, which the codec refuses (NON_FINITE).
      return Buffer.from(JSON.stringify(doc).replace(/^\{/, '{"overflow":1e999,'), 'utf8');
    case 'empty-key':
      return Buffer.from(JSON.stringify({ ...doc, '': 1 }), 'utf8');
  }
}

/**
 * One bad publication for a device. `topicFor(id)` renders the telemetry topic;
 * `doc` is the reading the device would have sent.
 */
export function makeBadPublication(
  kind: BadKind,
  deviceId: string,
  doc: Record<string, unknown>,
  topicFor: (id: string) => string,
  rng: Rng,
): BadPublication {
  const good = encodeDocument(doc, 'json');
  switch (kind) {
    case 'wrong-topic':
      return { kind, topic: rng.chance(0.5) ? `sensors/${deviceId}/telemetry` : `${topicFor(deviceId)}/extra`, payload: good };
    case 'bad-device-id':
      return { kind, topic: topicFor(rng.pick(BAD_DEVICE_IDS)), payload: good };
    default:
      return { kind, topic: topicFor(deviceId), payload: badPayload(kind, doc, rng) };
  }
}
