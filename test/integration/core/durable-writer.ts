/**
 * Child process for the syscall-level durability test (durability-syscalls.test.ts):
 * commits `count` times to one durable store, one awaited commit per group, and writes
 * `ack <i>\n` to stdout after each commit resolved (what the gateway would acknowledge),
 * then closes the store and writes `closed\n`. Run under strace by the parent.
 *
 * Usage: node --import tsx durable-writer.ts <dir> <store|deadletters|sync-state> <safe|fast> <count>
 */
import { join } from 'node:path';
import { openStore } from '../../../src/core/index.js';
import { DeadLetterStore } from '../../../src/gateway/dead-letters.js';
import { SyncStateStore } from '../../../src/sync/state-store.js';

const ack = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const [dir, kind, mode, countText] = process.argv.slice(2);
  const count = Number(countText);
  if (dir === undefined || (mode !== 'safe' && mode !== 'fast') || !Number.isSafeInteger(count)) {
    throw new Error('usage: durable-writer <dir> <store|deadletters|sync-state> <safe|fast> <count>');
  }
  if (kind === 'store') {
    // The periodic fast-mode flush is pushed out of the run: only close() may sync.
    const store = openStore(join(dir, 'devices', 'dev-1'), { durability: mode, flushIntervalMs: 3_600_000 });
    for (let i = 0; i < count; i++) {
      await store.writeAsync((t) => t.memberPut(t.objCreate(), 'seq', String(i)));
      ack(`ack ${i}`);
    }
    await store.close();
  } else if (kind === 'deadletters') {
    // The dead-letter store has no fast mode: it syncs every commit in either.
    const letters = new DeadLetterStore(join(dir, 'gateway', 'deadletters'));
    for (let i = 0; i < count; i++) {
      await letters.add([{ at: Date.now(), topic: 'devices/x/telemetry', code: 'BAD_JSON', message: 'bad', qos: 1, payload: Buffer.from(`{${i}`) }]);
      ack(`ack ${i}`);
    }
    await letters.close();
  } else if (kind === 'sync-state') {
    const state = new SyncStateStore(join(dir, 'gateway', 'sync'), mode === 'safe');
    for (let i = 0; i < count; i++) {
      await state.saveCursors([{ id: 'dev-1', cursor: { element: Buffer.alloc(25, i), passed: i + 1 } }]);
      ack(`ack ${i}`);
    }
    await state.close({});
  } else {
    throw new Error(`unknown kind ${String(kind)}`);
  }
  ack('closed');
}

main().catch((error: unknown) => {
  process.stderr.write(`durable-writer failed: ${String(error)}\n`);
  process.exit(1);
});
