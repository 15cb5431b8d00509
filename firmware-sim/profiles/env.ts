/** Environment sensor: a flat ~150-byte JSON reading (temperature, humidity, pressure…). */
import { round } from '../rng.js';
import { walk, type DeviceContext, type Profile, type ReadingStamp } from './types.js';

/** Flat fields: dev, fw, seq, boot, ts, temp, hum, pres, volt, rssi, up. */
export const envProfile: Profile = {
  name: 'env',
  reading(dev: DeviceContext, s: ReadingStamp): Record<string, unknown> {
    return {
      dev: dev.id,
      fw: '1.4.2',
      seq: s.seq,
      boot: s.boot,
      ts: s.ts,
      temp: round(walk(dev, 'temp', -10, 40, 0.2), 2),
      hum: round(walk(dev, 'hum', 10, 95, 0.5), 2),
      pres: round(walk(dev, 'pres', 960, 1050, 0.3), 2),
      volt: round(walk(dev, 'volt', 2.9, 3.3, 0.005), 3),
      rssi: Math.round(walk(dev, 'rssi', -95, -40, 2)),
      // Uptime in seconds since the simulated boot, a typical firmware housekeeping field.
      up: s.seq * 10,
    };
  },
};
