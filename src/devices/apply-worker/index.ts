/** The device-apply worker: durable device-group commits in a worker thread, under the pool's exclusive holds. */
export { ApplyWorker, type ApplyTarget, type ApplyWorkerOptions, type ApplyWorkerStats, type GroupResult } from './client.js';
export type { GroupRecord, WireOutcome } from './protocol.js';
export { fromWire } from './wire-error.js';
