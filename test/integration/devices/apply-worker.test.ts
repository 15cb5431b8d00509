/**
 * The device-apply worker against real instances: groups committed in the worker thread
 * and read back through the pool on the main thread (the instance handed over, never open
 * in both threads); a hot device stays lent to the worker across its groups (opened once)
 * and goes back for a read, a hold, quarantine, a slot under the cap, or after its idle
 * time; the worker's loan and the pool's other exclusive holds (compaction, retention) and
 * reads never overlap; a worker ended mid-group fails it with APPLY_WORKER_LOST, a new
 * thread applies it again exactly once; quarantine holds.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { getCodec } from '../../../src/codec/index.js';
import { deviceSummary, findByIdentity } from '../../../src/core/telemetry/query.js';
import { messageIdentity } from '../../../src/core/telemetry/identity.js';
import { ApplyWorker, type ApplyTarget, type GroupRecord } from '../../../src/devices/apply-worker/index.js';
import { createPool } from '../../../src/devices/pool/index.js';
import type { DevicePool } from '../../../src/devices/pool/types.js';
import { isLmjError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

// One thread for the whole file, as one process shares it between its pools. Idle loans
// go back after 300 ms: groups sent back to back stay far inside it.
const IDLE_MS = 300;
const worker = new ApplyWorker({ idleMs: IDLE_MS });
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

/** Resolves once `cond` holds (checked every 10 ms: the idle give-back runs on a timer). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise<void>((r) => setTimeout(r, 10));
}

const codec = getCodec();

const readingsOf = (pool: DevicePool, id: string): Promise<number> => pool.use(id, (s) => s.read((t) => deviceSummary(t)?.readings ?? 0));

describe('device-apply worker', () => {
  it('commits groups in the worker; the pool reads them on the main thread after the hand-off', async () => {
    const { pool, t } = setup();
    const first = await worker.apply(t, 'dev-a', records(0, 200));
    expect(first.outcomes.filter((o) => o.s === 'stored')).toHaveLength(200);
    expect(first.entry).toMatchObject({ id: 'dev-a', readings: 200 });
    // Lent: open in the worker, counted as open by the pool.
    expect(pool.stats()).toMatchObject({ open: 1, lent: 1, opens: 1, recalls: 0 });
    expect(pool.isOpen('dev-a')).toBe(true);
    // The read asks it back (the worker closes it), opens it on the main thread; the next group borrows it again.
    expect(await readingsOf(pool, 'dev-a')).toBe(200);
    expect(pool.stats()).toMatchObject({ open: 1, lent: 0, opens: 2, recalls: 1 });
    const again = await worker.apply(t, 'dev-a', [...records(150, 100), { kind: 'meta', format: 'json', receivedAt: 1_700_000_001_000, identity: Buffer.alloc(16), payload: Buffer.from('{"fw":"1.2"}') }]);
    expect(pool.stats()).toMatchObject({ open: 1, lent: 1, opens: 3 });
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

  it('keeps a hot device lent across its groups, and gives loans back for a slot, quarantine, idleness and close', async () => {
    const pool = createPool({ dataDir: tmpDir('lmj-apply-worker-'), durability: 'safe', maxOpen: 2, mapSize: 4 * 1024 * 1024 });
    const t: ApplyTarget = { pool, durability: 'safe', mapSize: 4 * 1024 * 1024, flattenLimits: {} };
    const loans = worker.stats().loans;
    for (let g = 0; g < 3; g++) await worker.apply(t, 'hot', records(g * 50, 50));
    // The fourth group flattened already (as the journal's applier sends it): applied as sent, not flattened again.
    const flat = records(150, 50).map((r) => ({ kind: r.kind, receivedAt: r.receivedAt, identity: r.identity, flat: codec.flatten((r as { payload: Uint8Array }).payload) }));
    expect((await worker.apply(t, 'hot', flat)).outcomes.filter((o) => o.s === 'stored')).toHaveLength(50);
    const last = await pool.use('hot', (s) => s.read((txn) => findByIdentity(txn, flat[49]!.identity)));
    expect(last).not.toBeNull();
    // Four groups, one loan, one open (the read above was the pool's own open, after a recall).
    expect(worker.stats().loans).toBe(loans + 1);
    expect(pool.stats()).toMatchObject({ open: 1, lent: 0, opens: 2, recalls: 1 });
    await worker.apply(t, 'hot', records(200, 5));
    await worker.apply(t, 'warm', records(0, 5));
    expect(pool.stats()).toMatchObject({ open: 2, lent: 2, opens: 4, evictions: 0 });
    // The cap (2) is full of loans: a third device takes the oldest idle loan's slot.
    await worker.apply(t, 'cold', records(0, 5));
    expect(pool.stats()).toMatchObject({ open: 2, lent: 2, opens: 5, evictions: 1, recalls: 2 });
    expect(pool.isOpen('hot')).toBe(false);
    // A main-thread open at the cap recalls a loan too.
    expect(await readingsOf(pool, 'hot')).toBe(205);
    expect(pool.stats()).toMatchObject({ open: 2, lent: 1, evictions: 2, recalls: 3 });
    // Quarantine asks the device back before it refuses it.
    pool.quarantine('cold', 'page checksum mismatch');
    await until(() => pool.stats().lent === 0);
    expect(pool.isOpen('cold')).toBe(false);
    // An idle loan goes back by itself.
    await worker.apply(t, 'warm', records(5, 5));
    expect(pool.stats().lent).toBe(1);
    const lentAt = performance.now();
    await until(() => pool.stats().lent === 0);
    expect(performance.now() - lentAt).toBeGreaterThanOrEqual(IDLE_MS - 20);
    expect(worker.stats().lent).toBe(0);
    // Close gives a loan back and closes everything.
    await worker.apply(t, 'warm', records(10, 5));
    await pool.close();
    expect(pool.stats()).toMatchObject({ open: 0, lent: 0 });
    expect(worker.stats().lent).toBe(0);
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
    // The loan went with the thread.
    expect(pool.stats().lent).toBe(0);
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
