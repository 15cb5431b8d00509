/**
 * The native codec: a thin TypeScript wrapper over the addon. Every addon
 * function returns a status number (src/errors.ts) that becomes an LmjError
 * here; flatten results arrive packed in one Buffer per call and are sliced
 * into `Flattened` views without copying.
 */
import { LmjError, fromStatus, withoutStack } from '../../errors.js';
import { loadAddon } from '../addon.js';
import { checkPayload, formatCode, resolveLimits } from '../limits.js';
import { processPointers } from '../portable/index.js';
import type { Codec, EntityType, FlattenLimits, FlattenOutcome, Flattened, PayloadFormat, ReadingScanKernel, WriteKernel } from '../types.js';

/** The addon's exports (native/src/addon.cc). A number result is a status. */
export interface NativeAddon {
  partitionOf(utf8: Uint8Array): number;
  formatPointer(ptr: Uint8Array): string | number;
  parsePointer(text: string): Buffer | number;
  flattenBatch(payloads: readonly Uint8Array[], format: number, maxDepth: number, maxFields: number): Buffer | number;
  /** Absent in builds older than the reading scan: the scan then runs in TypeScript. */
  scanReadings?: ReadingScanKernel['scanReadings'];
  aggregateReadings?: ReadingScanKernel['aggregateReadings'];
  lmdbVersion?: () => string;
  /** Absent in builds older than the native member writes: lmdb-js puts each key then. */
  writeMembers?: WriteKernel['writeMembers'];
  lmdbError?: WriteKernel['lmdbError'];
}

function scanKernel(addon: NativeAddon): ReadingScanKernel | undefined {
  const { scanReadings, aggregateReadings, lmdbVersion } = addon;
  if (typeof scanReadings !== 'function' || typeof aggregateReadings !== 'function' || typeof lmdbVersion !== 'function') return undefined;
  return Object.freeze({ lmdbVersion: lmdbVersion(), scanReadings, aggregateReadings });
}

function writeKernel(addon: NativeAddon): WriteKernel | undefined {
  const { writeMembers, lmdbError, lmdbVersion } = addon;
  if (typeof writeMembers !== 'function' || typeof lmdbError !== 'function' || typeof lmdbVersion !== 'function') return undefined;
  return Object.freeze({ lmdbVersion: lmdbVersion(), writeMembers, lmdbError });
}

const EXPECTED = ['partitionOf', 'formatPointer', 'parsePointer', 'flattenBatch'];

function check<T>(r: T | number, what: string): T {
  if (typeof r === 'number') throw fromStatus(r, `${what}: ${codeMessage(r)}`);
  return r;
}

function codeMessage(status: number): string {
  return fromStatus(status).message;
}

/** Splits the packed result of `flattenBatch` (layout in native/src/addon.cc). */
function unpack(out: Buffer, count: number): FlattenOutcome[] {
  const buf = out.byteOffset % 4 === 0 ? out : Buffer.from(out);
  const words = new Int32Array(buf.buffer, buf.byteOffset, 1)[0]!;
  const table = new Int32Array(buf.buffer, buf.byteOffset, words);
  const dataStart = words * 4;
  const entriesStart = 1 + 3 * count;
  const results: FlattenOutcome[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const status = table[1 + 3 * i]!;
    if (status !== 0) {
      // A payload's own fault (bad JSON, too deep…): no stack trace, see withoutStack.
      results[i] = { ok: false, error: withoutStack(() => fromStatus(status)) };
      continue;
    }
    const n = table[2 + 3 * i]!;
    let e = entriesStart + 4 * table[3 + 3 * i]!;
    const paths: Buffer[] = new Array(n);
    const values: Buffer[] = new Array(n);
    for (let j = 0; j < n; j++, e += 4) {
      const po = dataStart + table[e]!;
      const vo = dataStart + table[e + 2]!;
      paths[j] = buf.subarray(po, po + table[e + 1]!);
      values[j] = buf.subarray(vo, vo + table[e + 3]!);
    }
    results[i] = { ok: true, flat: { paths, values } };
  }
  return results;
}

/** Wraps an already loaded addon into a {@link Codec}. */
export function wrapAddon(addon: NativeAddon): Codec {
  for (const name of EXPECTED) {
    if (typeof (addon as unknown as Record<string, unknown>)[name] !== 'function') {
      throw new Error(`lmj_edge_native is missing ${name}(): stale build? run npm run build:native`);
    }
  }
  const flattenBatch = (payloads: readonly Uint8Array[], format?: PayloadFormat, limits?: Partial<FlattenLimits>): FlattenOutcome[] => {
    const code = formatCode(format);
    const { maxDepth, maxFields } = resolveLimits(limits);
    if (!Array.isArray(payloads)) throw new LmjError('INVALID_PARAM', 'payloads must be an array');
    return unpack(check(addon.flattenBatch(payloads, code, maxDepth, maxFields), 'flattenBatch'), payloads.length);
  };

  const scan = scanKernel(addon);
  const write = writeKernel(addon);
  return Object.freeze({
    kind: 'native' as const,
    ...(scan === undefined ? {} : { scan }),
    ...(write === undefined ? {} : { write }),
    // One Node-API call costs ~5x the whole JS generator (bench/codec.ts), and
    // one generator per process keeps pointers increasing across both codecs.
    newPointer: (type: EntityType, partition: number): Buffer => processPointers.next(type, partition),
    partitionOf(deviceId: string): number {
      if (typeof deviceId !== 'string') throw new LmjError('INVALID_PARAM', 'device id must be a string');
      return addon.partitionOf(Buffer.from(deviceId, 'utf8'));
    },
    formatPointer(ptr: Uint8Array): string {
      return check(addon.formatPointer(ptr), 'formatPointer');
    },
    parsePointer(text: string): Buffer {
      return check(addon.parsePointer(text), 'parsePointer');
    },
    flatten(payload: Uint8Array, format?: PayloadFormat, limits?: Partial<FlattenLimits>): Flattened {
      checkPayload(payload);
      const r = flattenBatch([payload], format, limits)[0]!;
      if (!r.ok) throw r.error;
      return r.flat;
    },
    flattenBatch,
  });
}

/** Loads the addon and wraps it; throws the loader's error (dlopen reason) when absent. */
export function createNativeCodec(): Codec {
  return wrapAddon(loadAddon() as NativeAddon);
}
