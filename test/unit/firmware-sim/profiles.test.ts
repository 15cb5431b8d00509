import { describe, expect, it } from 'vitest';
import { encodeDocument } from '../../../firmware-sim/encode.js';
import { BUILTIN_PROFILES, envProfile, gpsProfile, powerProfile, type DeviceContext } from '../../../firmware-sim/profiles/index.js';
import { GPS_BURST_SIZE } from '../../../firmware-sim/profiles/gps.js';
import { createRng } from '../../../firmware-sim/rng.js';
import { decode } from 'cbor-x';

function dev(i = 0, seed = 7): DeviceContext {
  return { id: `sim-${String(i).padStart(4, '0')}`, index: i, rng: createRng(seed).fork(i), walks: new Map() };
}
const stamp = { seq: 41, boot: 3, ts: 1_718_000_000_000 };

describe('built-in profiles', () => {
  it('env is a flat reading of about 150 bytes of JSON with the documented fields', () => {
    const d = dev();
    const doc = envProfile.reading(d, stamp);
    expect(Object.keys(doc)).toEqual(['dev', 'fw', 'seq', 'boot', 'ts', 'temp', 'hum', 'pres', 'volt', 'rssi', 'up']);
    for (const v of Object.values(doc)) expect(['number', 'string']).toContain(typeof v);
    expect(doc).toMatchObject({ dev: 'sim-0000', seq: 41, boot: 3, ts: stamp.ts });
    const size = encodeDocument(doc, 'json').length;
    expect(size).toBeGreaterThanOrEqual(120);
    expect(size).toBeLessThanOrEqual(180);
  });

  it('env values stay within their physical ranges over many readings', () => {
    const d = dev(3);
    for (let i = 0; i < 2000; i++) {
      const r = envProfile.reading(d, { ...stamp, seq: i });
      expect(r['temp']).toBeGreaterThanOrEqual(-10);
      expect(r['temp']).toBeLessThanOrEqual(40);
      expect(r['hum']).toBeGreaterThanOrEqual(10);
      expect(r['hum']).toBeLessThanOrEqual(95);
      expect(Number.isInteger(r['rssi'])).toBe(true);
    }
  });

  it('power has nested objects, three phases and a growing energy register', () => {
    const d = dev(1);
    const a = powerProfile.reading(d, stamp) as { meter: { energy: { import_kwh: number } }; phases: { v: number; i: number; p: number }[] };
    const b = powerProfile.reading(d, { ...stamp, seq: 42 }) as typeof a;
    expect(a.phases).toHaveLength(3);
    for (const p of a.phases) expect(Object.keys(p)).toEqual(['v', 'i', 'p']);
    expect(b.meter.energy.import_kwh).toBeGreaterThanOrEqual(a.meter.energy.import_kwh);
    expect(a).toMatchObject({ seq: 41, boot: 3, status: { relay: true } });
  });

  it('gps gives valid coordinates and occasional bursts', () => {
    const d = dev(2);
    const sizes: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = gpsProfile.reading(d, { ...stamp, seq: i });
      expect(Math.abs(r['lat'] as number)).toBeLessThanOrEqual(90);
      expect(r['sats']).toBeGreaterThanOrEqual(4);
      sizes.push(gpsProfile.burst!(d));
    }
    const bursts = sizes.filter((s) => s === GPS_BURST_SIZE).length;
    expect(sizes.every((s) => s === 1 || s === GPS_BURST_SIZE)).toBe(true);
    // 2 % of 2000 = 40 expected; a seeded run lands well inside this band.
    expect(bursts).toBeGreaterThan(15);
    expect(bursts).toBeLessThan(80);
  });

  it('the same seed gives the same readings; another seed does not', () => {
    const a = JSON.stringify(envProfile.reading(dev(5, 1), stamp));
    const b = JSON.stringify(envProfile.reading(dev(5, 1), stamp));
    const c = JSON.stringify(envProfile.reading(dev(5, 2), stamp));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it.each(Object.keys(BUILTIN_PROFILES))('%s encodes as plain CBOR maps (no tags) that decode to the same document', (name) => {
    const doc = BUILTIN_PROFILES[name]!.reading(dev(9), stamp);
    const bytes = encodeDocument(doc, 'cbor');
    expect(bytes[0]! >> 5).toBe(5);
    expect(decode(bytes)).toEqual(doc);
  });
});
