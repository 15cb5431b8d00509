/** Power meter: nested objects plus an array of 3 phase readings (~350 B JSON). */
import { round } from '../rng.js';
import { walk, type DeviceContext, type Profile, type ReadingStamp } from './types.js';

function phase(dev: DeviceContext, n: number): Record<string, number> {
  const v = round(walk(dev, `v${n}`, 220, 240, 0.5), 1);
  const i = round(walk(dev, `i${n}`, 0, 32, 0.4), 2);
  const pf = walk(dev, 'pf', 0.8, 1, 0.01);
  return { v, i, p: round(v * i * pf, 1) };
}

/** `meter.energy.import_kwh` only ever grows (a real meter register). */
export const powerProfile: Profile = {
  name: 'power',
  reading(dev: DeviceContext, s: ReadingStamp): Record<string, unknown> {
    const phases = [phase(dev, 1), phase(dev, 2), phase(dev, 3)];
    const totalW = phases.reduce((acc, p) => acc + (p.p ?? 0), 0);
    // Energy register: persists across reboots like a meter's non-volatile counter.
    const kwh = (dev.walks.get('kwh') ?? dev.rng.uniform(100, 50_000)) + totalW / 3_600_000;
    dev.walks.set('kwh', kwh);
    return {
      seq: s.seq,
      boot: s.boot,
      ts: s.ts,
      meter: {
        id: `PM-${dev.id}`,
        energy: { import_kwh: round(kwh, 3), export_kwh: 0 },
        freq: round(walk(dev, 'freq', 49.9, 50.1, 0.01), 2),
        pf: round(dev.walks.get('pf') ?? 1, 3),
      },
      phases,
      status: { relay: true, tamper: dev.rng.chance(0.001) },
    };
  },
};
