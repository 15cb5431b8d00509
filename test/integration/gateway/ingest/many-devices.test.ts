import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore } from '../../../../src/core/index.js';
import { readings } from '../../../../src/core/telemetry/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const run = promisify(execFile);
const N = 10_000;

/**
 * The devices' directory: on tmpfs when there is one. This test proves the fd budget,
 * not durability, and 10,000 closes each end with an fdatasync of data.mdb — on a
 * loaded disk that alone takes most of a minute.
 */
function fleetDir(): string {
  if (!existsSync('/dev/shm')) return tmpDir();
  const dir = mkdtempSync('/dev/shm/lmj-test-');
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('device pool under a 1024 fd limit', () => {
  it(
    'ingests into 10,000 devices in a child process with ulimit -n 1024',
    async () => {
      const dir = fleetDir();
      const script = join(import.meta.dirname, 'fixtures', 'many-devices.ts');
      const { stdout } = await run('bash', ['-c', `ulimit -n 1024 && exec "${process.execPath}" --import tsx "${script}" "${dir}" ${N}`], {
        maxBuffer: 1 << 20,
        timeout: 170_000,
        killSignal: 'SIGKILL',
      });
      const out = JSON.parse(stdout.trim().split('\n').pop() as string);
      expect(out.fdLimit).toBe(1024);
      expect(out.counts).toEqual({ stored: N });
      expect(out.listed).toBe(1000);
      expect(out.pool.maxOpen).toBeLessThanOrEqual(256);
      expect(out.pool.openFailures).toBe(0);
      // The budget alone kept the process under the limit: no open ran into EMFILE.
      expect(out.pool.fdRetries).toBe(0);
      expect(out.pool.opens).toBe(N);
      expect(out.pool.evictions).toBeGreaterThanOrEqual(N - out.pool.maxOpen);

      for (const i of [0, 4321, N - 1]) {
        const store = openStore(join(dir, 'devices', `dev-${i}`), { readOnly: true });
        try {
          expect(store.read((txn) => readings(txn)).readings.map((r) => r.values)).toEqual([{ i }]);
        } finally {
          await store.close();
        }
      }
    },
    180_000,
  );
});
