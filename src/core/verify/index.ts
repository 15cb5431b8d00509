/** Verifying and salvaging instances whose pages may be corrupt, always in child processes. */
export { DEFAULT_VERIFY_TIMEOUT_MS, verifyInstance, verifyInstances, type InstanceVerdict, type VerifyOptions } from './verify-instance.js';
export { salvageInstance, type DatabaseSalvage, type LostRange, type SalvageOptions, type SalvageReport } from './salvage.js';
