/**
 * Catch-up with several batches in flight: a gateway (real ingest pipeline and sync
 * service, in this process) drains a backlog over many devices to a real
 * `lmj-edge router` process, which is SIGKILLed mid-drain. At that moment no device's
 * cursor may be past what the router's data nodes hold (their stores are read after
 * the kill); after a restart on the same directory and port (in this process) the
 * drain finishes with every reading on the router exactly once, byte for byte.
 * Requires `npm run build`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Ingestor } from '../../../src/gateway/ingest/index.js';
import { exportRecords } from '../../../src/core/telemetry/records.js';
import { startRouter } from '../../../src/router/index.js';
import { LocalRoutingTable } from '../../../src/router/routing-table.js';
import { getCodec } from '../../../src/codec/index.js';
import { isLmjError } from '../../../src/errors.js';
import { startSync, type SyncService } from '../../../src/sync/index.js';
import { freePort } from '../../helpers/free-port.js';
import { startRouterProcess } from '../../helpers/router-process.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, gatewayRecords, ingestor, publish, recordsAt, sameRecords, silent, tokensFile } from '../../integration/sync/helpers.js';

const DEVICES = Array.from({ length: 16 }, (_, i) => `cu-${i}`);
const PER_DEVICE = 100;
const TOTAL = DEVICES.length * PER_DEVICE;

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of closers.splice(0).reverse()) await fn();
});

async function waitFor(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The instance directory of a device on the router's data node (per its routing table on disk). */
function routerDevicePath(routerDir: string, deviceId: string): string {
  const table = LocalRoutingTable.openOrCreate(join(routerDir, 'router', 'routing.json'), undefined);
  const node = table.nodes().find((n) => n.id === table.nodeFor(getCodec().partitionOf(deviceId)));
  if (node === undefined) throw new Error(`no node for ${deviceId}`);
  return join(routerDir, node.dir, 'devices', deviceId);
}

/**
 * What the router's instance of a device holds after the kill. One the kill interrupted
 * while it was being created holds nothing: no data.mdb yet, or a data.mdb whose first
 * transaction (the one creating `main` and `set`) never committed.
 */
async function routerRecords(path: string): Promise<Awaited<ReturnType<typeof recordsAt>>> {
  if (!existsSync(join(path, 'data.mdb'))) return [];
  try {
    return await recordsAt(path);
  } catch (err) {
    if (isLmjError(err, 'STORE_OPEN_FAILED') && /missing main\/set databases/.test(err.message)) return [];
    throw err;
  }
}

describe('catch-up with batches in flight, router SIGKILLed', () => {
  it('no cursor passes a batch the router has not committed; after a restart every reading is there exactly once', async () => {
    const dir = tmpDir();
    const gwDir = join(dir, 'gw');
    const routerDir = join(dir, 'router');
    const tokens = tokensFile(join(dir, 'tokens'));
    const port = await freePort();

    // The backlog: written while no uplink runs (the gateway was offline), as the router starts.
    // Durability safe: an answer sent before the commits would leave a window the size of an fsync.
    const starting = startRouterProcess(routerDir, port, tokens, 'safe');
    const ing: Ingestor = await ingestor(gwDir);
    closers.push(() => ing.close());
    await Promise.all(DEVICES.map((id) => publish(ing, id, 0, PER_DEVICE)));
    const router = await starting;
    // Small batches, 4 in flight: the kill lands while several batches are on their way.
    const sync: SyncService = startSync(
      { dataDir: gwDir, durable: false, devices: ing },
      { upstream: router.url, token: TOKEN, gatewayId: 'gw-1', batchMaxRecords: 40, concurrency: 4, backoffMs: 20, maxBackoffMs: 200, batchDelayMs: 5 },
    );
    closers.push(() => sync.close());

    await waitFor('a quarter of the backlog confirmed', () => sync.status().counters.readingsSynced >= TOTAL / 4);
    await router.kill('SIGKILL');
    const atKill = sync.status().counters.readingsSynced;
    // Every batch in flight at the kill fails; a confirmation can only come before it.
    const failures = sync.status().counters.batchFailures;
    await waitFor('the uplink to notice the dead router', () => sync.status().counters.batchFailures > failures);
    expect(sync.status().counters.readingsSynced).toBe(atKill);
    expect(atKill).toBeLessThan(TOTAL);

    let confirmed = 0;
    let partly = 0;
    for (const id of DEVICES) {
      const cursor = sync.syncedThrough(id);
      const path = routerDevicePath(routerDir, id);
      const onRouter = await routerRecords(path);
      const mine = await gatewayRecords(ing, id);
      const held = new Set(onRouter.map((r) => r.element.toString('hex')));
      // Nothing on the router twice, nothing it holds that the gateway did not send.
      expect(held.size, id).toBe(onRouter.length);
      expect(sameRecords(onRouter, mine.slice(0, onRouter.length)), id).toBeUndefined();
      if (cursor === undefined) continue;
      const through = mine.filter((r) => Buffer.compare(r.element, cursor) <= 0);
      confirmed += through.length;
      if (through.length < mine.length) partly++;
      const missing = through.filter((r) => !held.has(r.element.toString('hex')));
      expect(missing.length, `${id}: readings at or before the cursor missing on the router`).toBe(0);
    }
    expect(confirmed).toBe(atKill);
    expect(confirmed).toBeGreaterThan(0);
    expect(partly + DEVICES.filter((id) => sync.syncedThrough(id) === undefined).length).toBeGreaterThan(0);

    // The restarted router runs in this process, on the same directory and port.
    const again = await startRouter({ dataDir: routerDir, httpPort: port, tokensFile: tokens, nodes: 2, durability: 'fast', log: silent });
    closers.push(() => again.stop());
    await waitFor('the backlog drained after the restart', () => sync.status().backlog.readings === 0 && DEVICES.every((id) => sync.syncedThrough(id) !== undefined), 25_000);
    for (const id of DEVICES) {
      const mine = await gatewayRecords(ing, id);
      expect(mine.length, id).toBe(PER_DEVICE);
      const onRouter = await again.nodes.nodeOf(id).pool.use(id, (s) => s.read((txn) => exportRecords(txn, undefined, 1_000_000)));
      expect(sameRecords(onRouter, mine), id).toBeUndefined();
      expect(sync.syncedThrough(id)?.equals(mine[mine.length - 1]!.element), id).toBe(true);
    }
  }, 60_000);
});
