/** Public API of the firmware simulator. */
export { Simulation, runSim, type SimEvents, type SimProgress, type SimSummary } from './sim.js';
export { resolveSimOptions, type ConnectionMode, type SimOptions } from './options.js';
export { registerSimCommands } from './cli.js';
export { verifyLedger, type ReadingSource, type VerifyResult, type VerifyProblem } from './verify.js';
export { httpReadingSource } from './verify-http.js';
export { readLedger, LedgerWriter, type LedgerEntry } from './ledger.js';
export { BUILTIN_PROFILES, compileTemplate, loadTemplate, resolveProfile, type Profile } from './profiles/index.js';
export { BAD_KINDS, makeBadPublication, type BadKind } from './bad-payloads.js';
export { payloadIdentity } from './identity.js';
