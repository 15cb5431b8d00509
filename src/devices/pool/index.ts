/** The per-device instance pool (see ./pool.ts). */
export * from './types.js';
export { createPool } from './pool.js';
export { deriveMaxOpen, softFdLimit, defaultHeadroom, fdsPerInstance, FDS_PER_INSTANCE, FAST_FLUSH_FDS } from './fd-budget.js';
