/**
 * The per-device instance pool (src/devices/pool/pool.ts) over real LMDB files:
 * LRU eviction at the cap, waiting for a busy instance, invalidate(), and the
 * EMFILE retry under a real low descriptor limit (a child under `ulimit -n`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LmjError } from '../../../../src/errors.js';
import { createPool, type PoolOptions } from '../../../../src/devices/pool/index.js';
import type { LmjStore } from '../../../../src/core/types.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

const run = promisify(execFile);
const CHILD = new URL('./fd-pressure.ts', import.meta.url).pathname;

function pool(options: Partial<PoolOptions> = {}) {
  const events: string[] = [];
  const p = createPool({
    dataDir: tmpDir(),
    durability: 'fast',
    mapSize: 256 * 1024,
    hooks: { open: (id) => events.push(`open ${id}`), evict: (id) => events.push(`evict ${id}`) },
    ...options,
  });
  onTestFinished(() => p.close());
  return { p, events };
}

const write = (s: LmjStore, v: string): Buffer =>
  s.write((t) => {
    const ptr = t.objCreate();
    t.memberPut(ptr, 'v', v);
    return ptr;
  });

/** Resolves once `cond()` holds, checking on every turn of the event loop. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setImmediate(resolve));
}

describe('device pool', () => {
  it('evicts the least recently used idle instance at the cap, and reopens it with its data', async () => {
    const { p, events } = pool({ maxOpen: 2 });
    const a = await p.use('a', (s) => write(s, 'A'), { create: true });
    await p.use('b', (s) => write(s, 'B'), { create: true });
    // Touch a: b is now the least recently used.
    await p.use('a', () => undefined);
    await p.use('c', (s) => write(s, 'C'), { create: true });
    expect(events).toEqual(['open a', 'open b', 'evict b', 'open c']);
    await p.use('d', (s) => write(s, 'D'), { create: true });
    expect(events.slice(4)).toEqual(['evict a', 'open d']);
    expect(p.stats()).toMatchObject({ open: 2, maxOpen: 2, opens: 4, evictions: 2, waits: 0 });
    // a comes back from disk with what was written before its eviction.
    expect(await p.use('a', (s) => s.read((t) => t.memberGet(a, 'v').toString()))).toBe('A');
    expect(events.slice(6)).toEqual(['evict c', 'open a']);
  });

  it('waits for a busy instance when every slot is in use, then takes the freed slot', async () => {
    const { p, events } = pool({ maxOpen: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = p.use('busy', async (s) => {
      write(s, '1');
      await held;
    }, { create: true });
    await until(() => p.stats().open === 1);
    let secondDone = false;
    const second = p.use('next', (s) => write(s, '2'), { create: true }).then(() => (secondDone = true));
    await until(() => p.stats().waits === 1);
    // In use: never evicted, and the second acquisition is still waiting.
    expect(secondDone).toBe(false);
    expect(events).toEqual(['open busy']);
    release();
    await first;
    await second;
    expect(events).toEqual(['open busy', 'evict busy', 'open next']);
    expect(p.stats()).toMatchObject({ open: 1, waits: 1, evictions: 1 });
  });

  it('invalidate(): an idle instance is closed at once, a busy one after use; the next use fails with the error until the backoff ends', async () => {
    const { p } = pool({ maxOpen: 4, failureBackoffMs: 60_000 });
    await p.use('idle', (s) => write(s, 'x'), { create: true });
    p.invalidate('idle', new LmjError('STORE_CORRUPT', 'checksum mismatch'));
    await until(() => p.stats().open === 0);
    await expect(p.use('idle', () => 1)).rejects.toMatchObject({ code: 'STORE_CORRUPT', message: 'checksum mismatch' });

    await p.use('busy', async () => {
      p.invalidate('busy', new LmjError('STORE_IO', 'disk error'));
      // Still in use: not closed under the caller.
      expect(p.stats().open).toBe(1);
    }, { create: true });
    await until(() => p.stats().open === 0);
    await expect(p.use('busy', () => 1)).rejects.toMatchObject({ code: 'STORE_IO' });
  });

  it('invalidate() with an elapsed backoff: the next use reopens the instance and its data', async () => {
    const { p, events } = pool({ maxOpen: 4, failureBackoffMs: 1 });
    const ptr = await p.use('dev', (s) => write(s, 'kept'), { create: true });
    p.invalidate('dev', new LmjError('STORE_IO'));
    await until(() => p.stats().open === 0);
    // Outlast the 1 ms backoff.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await p.use('dev', (s) => s.read((t) => t.memberGet(ptr, 'v').toString()))).toBe('kept');
    expect(events).toEqual(['open dev', 'open dev']);
  });

  it('out of descriptors below the cap (ulimit -n 40): closes idle instances and retries, every open succeeds', async () => {
    const dir = tmpDir();
    const low = await run('bash', ['-c', `ulimit -n 40; exec "${process.execPath}" --import tsx "${CHILD}" "${dir}/low" 30`]);
    const result = JSON.parse(low.stdout) as { stats: Record<string, number>; values: string[] };
    expect(result.values).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    expect(result.stats['openFailures']).toBe(0);
    expect(result.stats['fdRetries']).toBeGreaterThan(0);
    expect(result.stats['evictions']).toBe(result.stats['fdRetries']);
    expect(result.stats['open']).toBeLessThan(30);
    // The same run with the default limit needs no retry: the low limit is what forced them.
    const normal = JSON.parse((await run(process.execPath, ['--import', 'tsx', CHILD, `${dir}/normal`, '30'])).stdout) as typeof result;
    expect(normal.values).toEqual(result.values);
    expect(normal.stats).toMatchObject({ fdRetries: 0, evictions: 0, open: 30 });
  });
});
