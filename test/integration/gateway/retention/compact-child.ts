/**
 * Child for the compaction crash tests: compacts DIR/devices/<id> through a real pool
 * and SIGKILLs itself at the named step (argv: dataDir deviceId step).
 */
import { compactInstance, type CompactStep } from '../../../../src/core/compact.js';
import { createPool } from '../../../../src/devices/pool/index.js';

const [dataDir, deviceId, killAt] = process.argv.slice(2) as [string, string, CompactStep];
const pool = createPool({ dataDir, durability: 'safe' });
await pool.use(deviceId, (s) => s.stat());
await pool.exclusive(deviceId, (dir) =>
  compactInstance(dir, (step) => {
    process.stdout.write(`step ${step}\n`);
    if (step === killAt) process.kill(process.pid, 'SIGKILL');
  }),
);
process.stdout.write('done\n');
await pool.close();
