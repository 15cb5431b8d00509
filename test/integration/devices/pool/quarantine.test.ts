/**
 * Quarantine in the device pool over real LMDB files: a quarantined device is never
 * opened (DEVICE_UNAVAILABLE naming the device), survives a new pool through its
 * marker, and is released when the marker goes; verifySuspects walks suspects in a
 * child and quarantines the corrupt one while the healthy one is served.
 */
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPool } from '../../../../src/devices/pool/index.js';
import { QuarantineStore } from '../../../../src/devices/pool/quarantine.js';
import { verifySuspects } from '../../../../src/devices/pool/verify-suspects.js';
import { overwriteAllDataPages, writeInstance } from '../../../helpers/corrupt-instance.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

function poolOver(dataDir: string, events: string[] = []) {
  const p = createPool({
    dataDir,
    durability: 'fast',
    mapSize: 256 * 1024,
    quarantine: new QuarantineStore(join(dataDir, 'quarantined')),
    hooks: { open: (id) => events.push(`open ${id}`), quarantine: (id) => events.push(`quarantine ${id}`) },
  });
  onTestFinished(() => p.close());
  return p;
}

describe('pool quarantine', () => {
  it('never opens a quarantined device, keeps it quarantined in a new pool, and releases it when the marker goes', async () => {
    const data = tmpDir();
    const events: string[] = [];
    const p = poolOver(data, events);
    await p.use('q-1', () => undefined, { create: true });
    p.quarantine('q-1', `corrupt page in ${join(data, 'devices', 'q-1')}/data.mdb`);
    const err = await p.use('q-1', () => undefined, { create: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DEVICE_UNAVAILABLE', details: { deviceId: 'q-1', reason: 'QUARANTINED' } });
    expect((err as Error).message).toMatch(/^device q-1 is quarantined: .*corrupt page in device q-1\b.*lmj-edge salvage q-1 --swap$/);
    expect((err as Error).message).not.toContain(data);
    await expect(p.exclusive('q-1', async () => 'ran')).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });
    expect(p.quarantined()).toEqual([{ deviceId: 'q-1', reason: 'corrupt page in device q-1' }]);
    expect(p.stats().quarantined).toBe(1);
    await p.close();

    const again: string[] = [];
    const p2 = poolOver(data, again);
    expect(again).toEqual(['quarantine q-1']);
    await expect(p2.use('q-1', () => undefined)).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });
    expect(new QuarantineStore(join(data, 'quarantined')).release('q-1')).toBe(true);
    expect(await p2.use('q-1', () => 'open')).toBe('open');
    expect(p2.quarantined()).toEqual([]);
    expect(again).toEqual(['quarantine q-1', 'open q-1']);
  });

  it('verifySuspects quarantines the corrupt suspect and serves the healthy one after its verdict', async () => {
    const data = tmpDir();
    await writeInstance(join(data, 'devices', 'ok-1'), 300);
    await writeInstance(join(data, 'devices', 'bad-1'), 300);
    overwriteAllDataPages(join(data, 'devices', 'bad-1'));
    const events: string[] = [];
    const p = poolOver(data, events);
    const verdicts: string[] = [];
    const check = verifySuspects(p, ['bad-1', 'ok-1', 'gone-1'], { onVerdict: (id, v) => verdicts.push(`${id} ${v.status}`) });
    // Held: this use waits for ok-1's verdict instead of mapping it first.
    const used = p.use('ok-1', () => verdicts.slice());
    await check.done;
    expect(await used).toEqual(['bad-1 corrupt', 'ok-1 ok']);
    expect(verdicts).toEqual(['bad-1 corrupt', 'ok-1 ok']);
    await expect(p.use('bad-1', () => undefined)).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE', details: { reason: 'QUARANTINED' } });
    expect(events).toEqual(['quarantine bad-1', 'open ok-1']);
  }, 60_000);
});
