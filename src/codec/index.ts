/**
 * Codec loader: picks the native addon or the portable TypeScript codec per
 * `LMJ_CODEC` (`native` | `portable` | `auto`, default `auto`).
 *
 * - `native` fails loudly (CODEC_UNAVAILABLE, the dlopen reason as `cause`).
 * - `auto` falls back to portable when the addon does not load, and says why:
 *   `codecInfo().fallbackReason` and a process warning. Never silently.
 */
import { LmjError } from '../errors.js';
import { createNativeCodec } from './native/index.js';
import { portableCodec } from './portable/index.js';
import type { Codec } from './types.js';

export * from './types.js';
export { portableCodec } from './portable/index.js';

/** Which codec kinds a caller may ask for. */
export type CodecRequest = 'native' | 'portable' | 'auto';

/** What {@link codecInfo} reports about the active codec. */
export interface CodecInfo {
  kind: 'native' | 'portable';
  requested: string;
  fallbackReason?: string;
}

let nativeCache: { codec: Codec } | { error: unknown } | undefined;

function tryNative(): { codec: Codec } | { error: unknown } {
  if (nativeCache === undefined) {
    try {
      nativeCache = { codec: createNativeCodec() };
    } catch (error) {
      nativeCache = { error };
    }
  }
  return nativeCache;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let lastFallback: string | undefined;

/** Loads the requested codec. `native` throws CODEC_UNAVAILABLE when the addon does not load. */
export function loadCodec(kind: CodecRequest): Codec {
  if (kind === 'portable') return portableCodec;
  const native = tryNative();
  if ('codec' in native) return native.codec;
  if (kind === 'native') {
    throw new LmjError('CODEC_UNAVAILABLE', `native codec requested but the addon did not load: ${reasonOf(native.error)}`, {
      cause: native.error,
      details: { requested: 'native' },
    });
  }
  if (kind !== 'auto') {
    throw new LmjError('CODEC_UNAVAILABLE', `unknown codec kind ${JSON.stringify(kind)} (native|portable|auto)`);
  }
  const reason = reasonOf(native.error);
  if (lastFallback !== reason) {
    lastFallback = reason;
    process.emitWarning(`lmj-edge: native codec unavailable, using the portable codec: ${reason}`, {
      code: 'LMJ_CODEC_FALLBACK',
    });
  }
  return portableCodec;
}

let active: { codec: Codec; info: CodecInfo } | undefined;

function resolveActive(): { codec: Codec; info: CodecInfo } {
  if (active !== undefined) return active;
  const requested = (process.env['LMJ_CODEC'] ?? '').trim() || 'auto';
  if (requested !== 'native' && requested !== 'portable' && requested !== 'auto') {
    throw new LmjError('CODEC_UNAVAILABLE', `LMJ_CODEC must be native, portable or auto, got ${JSON.stringify(requested)}`, {
      details: { requested },
    });
  }
  const codec = loadCodec(requested);
  const info: CodecInfo = { kind: codec.kind, requested };
  if (requested === 'auto' && codec.kind === 'portable') {
    const native = tryNative();
    if ('error' in native) info.fallbackReason = reasonOf(native.error);
  }
  active = { codec, info };
  return active;
}

/** The active codec per LMJ_CODEC, loaded once. */
export function getCodec(): Codec {
  return resolveActive().codec;
}

/** Which codec is active, what was asked for, and why a fallback happened. */
export function codecInfo(): CodecInfo {
  return { ...resolveActive().info };
}
