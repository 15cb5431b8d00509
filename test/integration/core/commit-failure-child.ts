/**
 * Child process of commit-failure.test.ts, run under `prlimit --fsize=BYTES`: commits
 * 64 KiB objects to one durable store until a commit fails (EFBIG once data.mdb would
 * pass the limit: a failure that is not about disk space), then prints one JSON line
 * with the rejection and every unhandled rejection seen meanwhile. No handler of the
 * daemon is installed: an unhandled rejection would otherwise end this process.
 *
 * Usage: node --import tsx commit-failure-child.ts <dir>
 */
import { join } from 'node:path';
import { openStore } from '../../../src/core/index.js';
import { isLmjError } from '../../../src/errors.js';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: commit-failure-child <dir>');
  const unhandled: string[] = [];
  process.on('unhandledRejection', (reason) => void unhandled.push(String((reason as Error)?.message ?? reason)));
  const store = openStore(join(dir, 'dev'), { durability: 'safe' });
  const value = Buffer.alloc(1000, 0x5a);
  let committed = 0;
  let failure: unknown;
  while (failure === undefined && committed < 10_000) {
    try {
      await store.writeAsync((t) => {
        const p = t.objCreate();
        for (let m = 0; m < 64; m++) t.memberPut(p, `m${m}`, value);
      });
      committed++;
    } catch (err) {
      failure = err;
    }
  }
  // Two macrotask turns: a rejection left unhandled by then has been reported.
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
  const e = failure as { message?: string; details?: { errno?: unknown } } | undefined;
  const out = { committed, code: isLmjError(failure) ? failure.code : undefined, message: e?.message, errno: e?.details?.errno, unhandled };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await store.close().catch(() => undefined);
}

main().catch((err: unknown) => {
  process.stderr.write(`commit-failure-child failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
