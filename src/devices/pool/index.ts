/** The per-device instance pool (see ./pool.ts). */
export * from './types.js';
export { createPool } from './pool.js';
export { deriveMaxOpen, memoryMaxOpen, INSTANCE_MEMORY_KIB, softFdLimit, defaultHeadroom, fdsPerInstance, FDS_PER_INSTANCE, FAST_FLUSH_FDS } from './fd-budget.js';
