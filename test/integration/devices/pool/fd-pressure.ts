/**
 * Child process for the pool's EMFILE test: started under a low `ulimit -n` with a
 * pool cap far above what that limit allows, so opens run out of descriptors below
 * the cap. Writes one reading to each of `count` devices, then reads them all back
 * through the pool, and prints the pool stats and the values read as one JSON line.
 *
 * Usage: node --import tsx fd-pressure.ts <dataDir> <count>
 */
import { createPool } from '../../../../src/devices/pool/index.js';

async function main(): Promise<void> {
  const [dataDir, countText] = process.argv.slice(2);
  const count = Number(countText);
  if (dataDir === undefined || !Number.isSafeInteger(count)) throw new Error('usage: fd-pressure <dataDir> <count>');
  const pool = createPool({ dataDir, durability: 'safe', maxOpen: 10_000, mapSize: 256 * 1024 });
  const ids = Array.from({ length: count }, (_, i) => `fd-${i}`);
  const ptrs: Buffer[] = [];
  for (const [i, id] of ids.entries()) {
    ptrs.push(
      await pool.use(
        id,
        (s) =>
          s.write((t) => {
            const p = t.objCreate();
            t.memberPut(p, 'i', String(i));
            return p;
          }),
        { create: true },
      ),
    );
  }
  const values: string[] = [];
  for (const [i, id] of ids.entries()) values.push(await pool.use(id, (s) => s.read((t) => t.memberGet(ptrs[i]!, 'i').toString())));
  const stats = pool.stats();
  await pool.close();
  process.stdout.write(`${JSON.stringify({ stats, values })}\n`);
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(error), code: (error as { code?: string }).code, details: (error as { details?: unknown }).details })}\n`);
  process.exit(1);
});
