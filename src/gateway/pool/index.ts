/** The per-device instance pool (see ./pool.ts). */
export * from './types.js';
export { createPool } from './pool.js';
export { deriveMaxOpen, softFdLimit, defaultHeadroom, FDS_PER_INSTANCE } from './fd-budget.js';
