/**
 * Runs the compaction's record copy in a worker thread (./compact-worker.ts). The copy
 * is thousands of lmdb-js puts per transaction; on the main thread it took the event
 * loop from every other device's ingest for the whole copy (docs/retention.md,
 * Measurements). The worker opens the closed instance and the new environment itself;
 * the main thread only waits for its one reply. A SIGKILL of the process ends the
 * worker with it, so the crash protocol of ./compact.ts is unchanged.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LmjError, type ErrorCode } from '../errors.js';

/**
 * The copy thread's nice value. The copy is background work: where it competes for a core
 * with the event loop that commits every other device's ingest, the event loop goes
 * first (docs/retention.md, Measurements). The compacted device's own writes queue until
 * the swap, so the copy is lowered, not starved (19 would be idle-only).
 */
export const COPY_NICENESS = 10;

/** What the worker posts back. */
export type CopyReply =
  | { ok: true; counts: { main: number; setKeys: number } }
  | { ok: false; code: ErrorCode; message: string; details: Record<string, unknown> | undefined };

/**
 * The worker: compiled `compact-worker.js` next to this file in dist/; from src/ (tests)
 * the `.ts` source through tsx's `tsImport` (Node 20 does not apply an `--import`
 * loader given in a worker's execArgv to the worker's own entry).
 */
function startWorker(workerData: { source: string; dest: string; niceness: number }): Worker {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new Worker(join(dirname(here), 'compact-worker.js'), { workerData });
  // The ESM build of tsx's API (require.resolve names the CommonJS one).
  const api = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/esm/api')), 'index.mjs')).href;
  const entry = pathToFileURL(join(dirname(here), 'compact-worker.ts')).href;
  const code = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`;
  return new Worker(code, { eval: true, workerData });
}

/**
 * Copies the closed instance at `source` into the empty environment directory `dest`
 * in a worker thread. Rejects with the copy's LmjError, or COMPACTION_FAILED when the
 * worker died without a reply.
 */
export function copyInstanceInWorker(source: string, dest: string): Promise<{ main: number; setKeys: number }> {
  return new Promise((resolve, reject) => {
    const worker = startWorker({ source, dest, niceness: COPY_NICENESS });
    let reply: CopyReply | undefined;
    let failure: unknown;
    worker.once('message', (m: CopyReply) => (reply = m));
    worker.once('error', (err) => (failure = err));
    worker.once('exit', (exitCode) => {
      if (reply?.ok === true) return resolve(reply.counts);
      if (reply !== undefined) return reject(new LmjError(reply.code, reply.message, reply.details === undefined ? {} : { details: reply.details }));
      reject(new LmjError('COMPACTION_FAILED', `the compaction worker ended without a result (exit code ${exitCode})`, { cause: failure, details: { source } }));
    });
  });
}
