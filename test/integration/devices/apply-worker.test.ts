/**
 * The device-apply worker against real instances: groups committed in the worker thread
 * and read back through the pool on the main thread (the instance handed over, never open
 * in both threads); the worker's hold and the pool's other exclusive holds (compaction,
 * retention) and reads never overlap; a worker ended mid-group fails it with
 * APPLY_WORKER_LOST, a new thread applies it again exactly once; quarantine holds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { deviceSummary, findByIdentity } from '../../../src/core/telemetry/query.js';
import { messageIdentity } from '../../../src/core/telemetry/identity.js';
import { ApplyWorker, type ApplyTarget, type GroupRecord } from '../../../src/devices/apply-worker/index.js';
import { createPool } from '../../../src/devices/pool/index.js';
import type { DevicePool } from '../../../src/devices/pool/types.js';
import { isLmjError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

// One thread for the whole file, as one process shares it between its pools.
const worker = new ApplyWorker();
afterAll(() => worker.close());

function setup(): { pool: DevicePool; t: ApplyTarget } {
  const pool = createPool({ dataDir: tmpDir('lmj-apply-worker-'), durability: 'safe', maxOpen: 8, mapSize: 4 * 1024 * 1024 });
  return { pool, t: { pool, durability: 'safe', mapSize: 4 * 1024 * 1024, flattenLimits: {} } };
}

function records(from: number, count: number, tag = 'r'): GroupRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const payload = Buffer.from(JSON.stringify({ env: { temp: 20 + ((from + k) % 10), tag }, seq: from + k }));
    return { kind: 'telemetry', format: 'auto', receivedAt: 1_700_000_000_000 + from + k, identity: messageIdentity(payload), payload };
  });
}

/** Resolves once the worker has `n` groups in flight (checked every turn). */
async function inFlight(n: number): Promise<void> {
  while (worker.stats().inFlight !== n) await new Promise<void>((r) => setImmediate(r));
}

const readingsOf = (pool: DevicePool, id: string): Promise<number> => pool.use(id, (s) => s.read((t) => deviceSummary(t)?.readings ?? 0));

describe('device-apply worker', () => {
  it('commits groups in the worker; the pool reads them on the main thread after the hand-off', async () => {
    const { pool, t } = setup();
    const first = await worker.apply(t, 'dev-a', records(0, 200));
    expect(first.outcomes.filter((o) => o.s === 'stored')).toHaveLength(200);
    expect(first.entry).toMatchObject({ id: 'dev-a', readings: 200 });
    // Main thread opens it (the worker closed it), reads, and the next group hands it over again.
    expect(await readingsOf(pool, 'dev-a')).toBe(200);
    expect(pool.isOpen('dev-a')).toBe(true);
    const again = await worker.apply(t, 'dev-a', [...records(150, 100), { kind: 'meta', format: 'json', receivedAt: 1_700_000_001_000, identity: Buffer.alloc(16), payload: Buffer.from('{"fw":"1.2"}') }]);
    expect(pool.isOpen('dev-a')).toBe(false);
    expect(again.outcomes.map((o) => o.s).slice(0, 50)).toEqual(Array(50).fill('duplicate'));
    expect(again.outcomes.filter((o) => o.s === 'stored')).toHaveLength(50);
    expect(again.outcomes.at(-1)).toEqual({ s: 'meta' });
    const summary = await pool.use('dev-a', (s) => s.read((t) => deviceSummary(t)));
    expect(summary).toMatchObject({ readings: 250, meta: { fw: '1.2' } });
    // A payload the worker cannot flatten is refused alone, the rest of its group is stored.
    const mixed = await worker.apply(t, 'dev-a', [...records(300, 2), { kind: 'telemetry', format: 'json', receivedAt: 1, identity: Buffer.alloc(16, 1), payload: Buffer.from('{bad') }]);
    expect(mixed.outcomes.map((o) => o.s)).toEqual(['stored', 'stored', 'refused']);
    expect(mixed.outcomes[2]).toMatchObject({ error: { code: 'BAD_JSON' } });
    expect(await readingsOf(pool, 'dev-a')).toBe(252);
    await pool.close();
  });

  it('never overlaps another exclusive hold or a read of the same device', async () => {
    const { pool, t } = setup();
    await worker.apply(t, 'dev-x', records(0, 10));
    const events: string[] = [];
    // A compaction-like hold first: the worker's group waits for it.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const hold = pool.exclusive('dev-x', async () => {
      events.push('hold-start');
      await gate;
      events.push('hold-end');
    });
    const applied = worker.apply(t, 'dev-x', records(10, 500)).then((r) => {
      events.push('applied');
      return r;
    });
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
    expect(worker.stats().inFlight).toBe(0);
    release();
    await hold;
    // Then the worker's group holds it: a read and another hold queue behind the commit.
    await inFlight(1);
    const read = readingsOf(pool, 'dev-x').then((n) => (events.push(`read ${n}`), n));
    const second = pool.exclusive('dev-x', async () => void events.push('hold-2'));
    expect((await applied).outcomes.filter((o) => o.s === 'stored')).toHaveLength(500);
    expect(await read).toBe(510);
    await second;
    expect(events.slice(0, 3)).toEqual(['hold-start', 'hold-end', 'applied']);
    expect(events.slice(3).sort()).toEqual(['hold-2', 'read 510']);
    await pool.close();
  });

  it('a worker ended mid-group fails it with APPLY_WORKER_LOST; a new thread applies it again exactly once', async () => {
    const { pool, t } = setup();
    await worker.apply(t, 'dev-c', records(0, 1));
    const before = worker.stats();
    const group = records(1, 1000, 'crash');
    const lost = worker.apply(t, 'dev-c', group);
    await inFlight(1);
    await worker.terminate();
    const err = await lost.then(() => undefined, (e: unknown) => e);
    expect(isLmjError(err, 'APPLY_WORKER_LOST')).toBe(true);
    expect(worker.stats()).toMatchObject({ starts: before.starts, lost: before.lost + 1, inFlight: 0 });
    // The instance is usable after the lost thread (its environment closed, its write lock free).
    const retry = await worker.apply(t, 'dev-c', group);
    expect(worker.stats().starts).toBe(before.starts + 1);
    expect(retry.outcomes.every((o) => o.s === 'stored' || o.s === 'duplicate')).toBe(true);
    expect(await readingsOf(pool, 'dev-c')).toBe(1001);
    const found = await pool.use('dev-c', (s) => s.read((t) => [group[0]!, group[499]!, group[999]!].map((r) => findByIdentity(t, r.identity) !== null)));
    expect(found).toEqual([true, true, true]);
    await pool.close();
  });

  it('a quarantined device is refused by the hold; a closed pool refuses with SHUTTING_DOWN', async () => {
    const { pool, t } = setup();
    pool.quarantine('dev-q', 'page checksum mismatch');
    const err = await worker.apply(t, 'dev-q', records(0, 3)).then(() => undefined, (e: unknown) => e);
    expect(isLmjError(err, 'DEVICE_UNAVAILABLE')).toBe(true);
    expect((err as { details?: { reason?: string } }).details?.reason).toBe('QUARANTINED');
    expect(pool.exists('dev-q')).toBe(false);
    await pool.close();
    const closed = await worker.apply(t, 'dev-z', records(0, 1)).then(() => undefined, (e: unknown) => e);
    expect(isLmjError(closed, 'SHUTTING_DOWN')).toBe(true);
  });
});
