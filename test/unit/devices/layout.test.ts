import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deviceIdsOnDisk, devicesDir, instanceDir } from '../../../src/devices/layout.js';
import { isLmjError } from '../../../src/errors.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

describe('data-dir layout', () => {
  it('puts every instance in DIR/devices/<id>, dotted ids included', () => {
    expect(devicesDir('/d')).toBe('/d/devices');
    expect(instanceDir('/d', 'sensor.2')).toBe('/d/devices/sensor.2');
    expect(instanceDir('/d', 'x.mdb')).toBe('/d/devices/x.mdb');
  });

  it.each(['..', '../x', 'a/b', 'a..b'])('never builds a path for %j (BAD_DEVICE_ID)', (id) => {
    let caught: unknown;
    try {
      instanceDir('/d', id);
    } catch (err) {
      caught = err;
    }
    expect(isLmjError(caught, 'BAD_DEVICE_ID')).toBe(true);
  });

  it('lists the valid ids on disk and nothing else; none when DIR/devices is missing', () => {
    const dir = tmpDir();
    expect(deviceIdsOnDisk(dir)).toEqual([]);
    for (const id of ['a.b', 'dev-1']) mkdirSync(join(dir, 'devices', id), { recursive: true });
    writeFileSync(join(dir, 'devices', 'bad name'), '');
    expect(deviceIdsOnDisk(dir).sort()).toEqual(['a.b', 'dev-1']);
  });
});
