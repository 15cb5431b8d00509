/**
 * Child process for the crash test: writes numbered objects (8 members each) in a
 * stream of write transactions and prints `committed <seq> <ptr-hex>` after each
 * commit returns (or its writeAsync promise resolves). The parent SIGKILLs it.
 *
 * Usage: node --import tsx crash-writer.ts <dir> <write|writeAsync>
 */
import { openStore, type WriteTxn } from '../../../src/core/index.js';

export const INDEX_PTR = Buffer.concat([Buffer.from([0x02]), Buffer.alloc(15), Buffer.from([0x01])]);
export const MEMBERS = ['temp', 'hum', 'pres', 'volt', 'rssi', 'seq', 'ts', 'fw'];

/** One numbered object plus its index entry, in the caller's transaction. */
export function writeNumbered(t: WriteTxn, seq: number): Buffer {
  const p = t.objCreate();
  for (const m of MEMBERS) t.memberPut(p, m, `${m}-${seq}-${'x'.repeat(seq % 50)}`);
  const el = Buffer.alloc(4 + 17);
  el.writeUInt32BE(seq, 0);
  p.copy(el, 4);
  t.setAdd(INDEX_PTR, el);
  return p;
}

async function main(): Promise<void> {
  const [dir, mode] = process.argv.slice(2);
  if (dir === undefined || (mode !== 'write' && mode !== 'writeAsync')) throw new Error('usage: crash-writer <dir> <write|writeAsync>');
  const store = openStore(dir, { mapSize: 1024 * 1024 });
  store.write((t) => t.setRegister(INDEX_PTR));
  for (let seq = 0; ; seq++) {
    if (mode === 'write') {
      const p = store.write((t) => writeNumbered(t, seq));
      process.stdout.write(`committed ${seq} ${p.toString('hex')}\n`);
    } else {
      // Several queued transactions per commit group; each is reported when its promise resolves.
      const batch = [0, 1, 2, 3].map((i) => store.writeAsync((t) => writeNumbered(t, seq * 4 + i)));
      for (const [i, pr] of batch.entries()) {
        const p = await pr;
        process.stdout.write(`committed ${seq * 4 + i} ${p.toString('hex')}\n`);
      }
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  main().catch((error: unknown) => {
    process.stderr.write(`crash-writer failed: ${String(error)}\n`);
    process.exit(1);
  });
}
