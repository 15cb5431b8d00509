/** GPS tracker: position, altitude, speed and heading; occasionally a burst of fast fixes. */
import { round } from '../rng.js';
import { walk, type DeviceContext, type Profile, type ReadingStamp } from './types.js';

/** Probability that a slot becomes a burst, and the burst length (e.g. a harsh-braking event). */
export const GPS_BURST_PROBABILITY = 0.02;
export const GPS_BURST_SIZE = 5;

const EARTH_M_PER_DEG = 111_320;

export const gpsProfile: Profile = {
  name: 'gps',
  reading(dev: DeviceContext, s: ReadingStamp): Record<string, unknown> {
    const speed = walk(dev, 'speed', 0, 30, 2);
    const heading = (walk(dev, 'heading', 0, 720, 15) % 360 + 360) % 360;
    // Start somewhere around central Europe, then move by speed × ~10 s along the heading.
    const lat0 = dev.walks.get('lat') ?? dev.rng.uniform(45, 55);
    const lon0 = dev.walks.get('lon') ?? dev.rng.uniform(5, 15);
    const dist = speed * 10;
    const rad = (heading * Math.PI) / 180;
    const lat = Math.max(-89.9, Math.min(89.9, lat0 + (dist * Math.cos(rad)) / EARTH_M_PER_DEG));
    const lon = lon0 + (dist * Math.sin(rad)) / (EARTH_M_PER_DEG * Math.cos((lat * Math.PI) / 180));
    dev.walks.set('lat', lat);
    dev.walks.set('lon', lon);
    return {
      seq: s.seq,
      boot: s.boot,
      ts: s.ts,
      lat: round(lat, 6),
      lon: round(lon, 6),
      alt: round(walk(dev, 'alt', 0, 1500, 3), 1),
      speed: round(speed, 2),
      heading: round(heading, 1),
      sats: dev.rng.int(4, 14),
      fix: true,
    };
  },
  burst(dev: DeviceContext): number {
    return dev.rng.chance(GPS_BURST_PROBABILITY) ? GPS_BURST_SIZE : 1;
  },
};
