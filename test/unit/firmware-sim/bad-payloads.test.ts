import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../src/codec/index.js';
import { isLmjError, type ErrorCode } from '../../../src/errors.js';
import { createTopicParser } from '../../../src/gateway/topics.js';
import { BAD_DEVICE_IDS, BAD_KINDS, badPayload, makeBadPublication, type BadKind } from '../../../firmware-sim/bad-payloads.js';
import { envProfile, powerProfile } from '../../../firmware-sim/profiles/index.js';
import { createRng } from '../../../firmware-sim/rng.js';

const rng = createRng(17);
const topicFor = (id: string): string => `devices/${id}/telemetry`;
const doc = (seq = 1): Record<string, unknown> =>
  envProfile.reading({ id: 'sim-1', index: 1, rng, walks: new Map() }, { seq, boot: 1, ts: 1_700_000_000_000 });

function rejection(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (err) {
    if (isLmjError(err)) return err.code;
    throw err;
  }
  throw new Error('expected an LmjError, nothing was thrown');
}

const PAYLOAD_KINDS: [Exclude<BadKind, 'wrong-topic' | 'bad-device-id'>, ErrorCode[]][] = [
  ['truncated-json', ['BAD_JSON']],
  ['invalid-cbor', ['BAD_CBOR']],
  ['too-deep', ['TOO_DEEP']],
  ['huge-member', ['PATH_TOO_LONG']],
  ['non-finite', ['NON_FINITE']],
  ['empty-key', ['EMPTY_KEY']],
];

describe('bad payloads are refused by the codec with the expected code', () => {
  it.each(PAYLOAD_KINDS)('%s → %s (many random variants)', (kind, codes) => {
    const codec = getCodec();
    for (let i = 0; i < 200; i++) {
      const src = i % 2 === 0 ? doc(i) : powerProfile.reading({ id: 'p', index: 0, rng, walks: new Map() }, { seq: i, boot: 1, ts: 1 });
      const payload = badPayload(kind, src, rng);
      expect(codes).toContain(rejection(() => codec.flatten(payload, 'auto')));
    }
  });

  it('the documents they are derived from are accepted', () => {
    const codec = getCodec();
    expect(codec.flatten(Buffer.from(JSON.stringify(doc())), 'auto').paths.length).toBe(11);
  });
});

describe('bad topics are refused by the gateway topic parser', () => {
  const parser = createTopicParser();

  it('every bad device id is BAD_DEVICE_ID or BAD_TOPIC', () => {
    for (const id of BAD_DEVICE_IDS) {
      expect(['BAD_DEVICE_ID', 'BAD_TOPIC']).toContain(rejection(() => parser.parse(topicFor(id))));
    }
  });

  it('wrong-topic and bad-device-id publications carry a valid payload on a refused topic', () => {
    for (let i = 0; i < 100; i++) {
      for (const kind of ['wrong-topic', 'bad-device-id'] as const) {
        const p = makeBadPublication(kind, 'sim-1', doc(i), topicFor, rng);
        expect(p.kind).toBe(kind);
        expect(() => JSON.parse(p.payload.toString())).not.toThrow();
        expect(['BAD_DEVICE_ID', 'BAD_TOPIC']).toContain(rejection(() => parser.parse(p.topic)));
      }
    }
  });

  it('payload kinds go to the device topic, which parses', () => {
    for (const kind of BAD_KINDS.filter((k) => k !== 'wrong-topic' && k !== 'bad-device-id')) {
      const p = makeBadPublication(kind, 'sim-1', doc(), topicFor, rng);
      expect(parser.parse(p.topic)).toEqual({ kind: 'telemetry', deviceId: 'sim-1' });
    }
  });
});
