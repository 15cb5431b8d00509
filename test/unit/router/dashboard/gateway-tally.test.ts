/** The fleet page's per-gateway tally: sums per gateway, newest upload first, bounded. */
import { describe, expect, it } from 'vitest';
import { GatewayTally, MAX_TRACKED_GATEWAYS } from '../../../../src/router/dashboard/gateway-tally.js';

describe('GatewayTally', () => {
  it('sums batches and readings per gateway and lists the newest upload first', () => {
    const t = new GatewayTally();
    t.upload('gw-a', 3, 30, 1000);
    t.upload('gw-b', 1, 5, 2000);
    t.upload('gw-a', 2, 0, 3000);
    expect(t.list()).toEqual([
      { id: 'gw-a', lastUploadAt: 3000, batches: 2, readings: 30, lastBatchDevices: 2 },
      { id: 'gw-b', lastUploadAt: 2000, batches: 1, readings: 5, lastBatchDevices: 1 },
    ]);
    // The list is a copy: changing it does not change the tally.
    t.list()[0]!.readings = 0;
    expect(t.list()[0]!.readings).toBe(30);
  });

  it('lists at most MAX_TRACKED_GATEWAYS and counts the uploads of the others', () => {
    const t = new GatewayTally();
    for (let i = 0; i < MAX_TRACKED_GATEWAYS; i++) t.upload(`gw-${i}`, 1, 1, i);
    t.upload('gw-extra', 1, 1, 1);
    t.upload('gw-extra', 1, 1, 2);
    t.upload('gw-0', 1, 1, 99_999);
    expect(t.list()).toHaveLength(MAX_TRACKED_GATEWAYS);
    expect(t.untracked).toBe(2);
    expect(t.list()[0]).toMatchObject({ id: 'gw-0', batches: 2 });
  });
});
