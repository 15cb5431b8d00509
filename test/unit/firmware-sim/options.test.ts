import { describe, expect, it } from 'vitest';
import { resolveSimOptions, type SimOptions } from '../../../firmware-sim/options.js';

const base: SimOptions = { broker: 'mqtt://127.0.0.1:1883' };

describe('sim options', () => {
  it('fills documented defaults', () => {
    const o = resolveSimOptions(base);
    expect(o).toMatchObject({ devices: 1, rate: 10, durationS: 10, qos: 1, format: 'json', profile: 'env', bad: 0, connectionMode: 'auto', maxConnections: 1000, inflight: 32, topic: 'devices/{deviceId}/telemetry' });
    expect(o.count).toBeUndefined();
    expect(resolveSimOptions({ ...base, count: 5 }).durationS).toBeUndefined();
  });

  it.each<[Partial<SimOptions>, string]>([
    [{ broker: 'not a url' }, 'broker'],
    [{ broker: 'http://x:1' }, 'broker'],
    [{ devices: 0 }, 'devices'],
    [{ devices: 1.5 }, 'devices'],
    [{ rate: -1 }, 'rate'],
    [{ qos: 2 as 0 }, 'qos'],
    [{ format: 'xml' as 'json' }, 'format'],
    [{ bad: 1.5 }, 'bad'],
    [{ topic: 'devices/+/telemetry' }, 'topic'],
    [{ topic: 'devices/x' }, 'topic'],
    [{ devicePrefix: '../' }, 'devicePrefix'],
    [{ connectionMode: 'mesh' as 'pool' }, 'connectionMode'],
    [{ rebootProbability: 2 }, 'rebootProbability'],
    [{ inflight: 0 }, 'inflight'],
  ])('%o is BAD_CONFIG naming %s', (patch, key) => {
    let err: unknown;
    try {
      resolveSimOptions({ ...base, ...patch });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'BAD_CONFIG', details: { key } });
  });
});
