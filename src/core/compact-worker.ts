/**
 * Worker-thread entry of the compaction copy ({@link copyInstance}): runs the record
 * copy off the daemon's event loop, so the other devices' commits keep their thread.
 * Input `workerData` = `{ source, dest }`; it posts one {@link CopyReply} and ends.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { isLmjError } from '../errors.js';
import { copyInstance } from './compact-copy.js';
import type { CopyReply } from './compact-thread.js';

const { source, dest, niceness } = workerData as { source: string; dest: string; niceness: number };
// Linux nices threads one by one (setpriority of the calling thread): this lowers the
// copy, not the thread that serves the other devices' ingest.
if (niceness > 0) setPriority(niceness);
let reply: CopyReply;
try {
  reply = { ok: true, counts: await copyInstance(source, dest) };
} catch (err) {
  reply = isLmjError(err)
    ? { ok: false, code: err.code, message: err.message, details: err.details }
    : { ok: false, code: 'COMPACTION_FAILED', message: String((err as { message?: unknown }).message ?? err), details: undefined };
}
parentPort?.postMessage(reply);
