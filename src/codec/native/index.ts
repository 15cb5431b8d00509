/**
 * The native codec: a thin TypeScript wrapper over the addon. Every addon
 * function returns a status number (src/errors.ts) that becomes an LmjError here.
 */
import { loadAddon } from '../addon.js';
import type { Codec } from '../types.js';

/** Loads the addon and wraps it; throws the loader's error when it is absent. */
export function createNativeCodec(): Codec {
  loadAddon();
  throw new Error('native codec wrapper not implemented yet');
}
