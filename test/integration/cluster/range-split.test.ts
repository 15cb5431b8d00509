/**
 * Range splits against a real single-member etcd: one transaction makes both halves with
 * the range's owner and epoch (the watched view sees both at once, the epoch check
 * accepts claims made with either side's bounds); every refusal — bounds that are not a
 * range, a point outside the range or at its edge, a learner, a fence, a move past its
 * flip — leaves the table version and every range key unchanged; concurrent splits of
 * one range leave one winner, of different ranges both win.
 */
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NodeRegistration,
  RANGES_PREFIX,
  TableView,
  abortMove,
  checkEpoch,
  connectEtcd,
  fenceMove,
  flipMove,
  initTable,
  readTable,
  requestMove,
  setOwner,
  splitRange,
  updateMove,
} from '../../../src/cluster/index.js';
import { isLmjError } from '../../../src/errors.js';
import { startEtcd, type EtcdCluster } from '../../helpers/etcd.js';

let etcd: EtcdCluster;
let client: Etcd3;
let view: TableView;
const regs: NodeRegistration[] = [];

beforeAll(async () => {
  etcd = await startEtcd(1);
  client = connectEtcd(etcd.urls);
  await initTable(client, 1024);
  for (const id of ['node-a', 'node-b']) {
    regs.push(await NodeRegistration.register(client, { id, address: { host: '127.0.0.1', port: 1 }, capacity: { devices: 1000, bytes: 1e9 }, load: () => ({ devices: 0, bytes: 0, writesPerSec: 0, readsPerSec: 0 }), ttlSeconds: 5 }));
  }
  await setOwner(client, 0, { kind: 'node', id: 'node-a' });
  await setOwner(client, 2048, { kind: 'node', id: 'node-a' });
  view = await TableView.open(client);
}, 60_000);

afterAll(async () => {
  await view?.close();
  for (const r of regs) await r.stop();
  client?.close();
  await etcd?.destroy();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isLmjError(err)) return err.code;
    throw err;
  }
  throw new Error('expected a refusal');
}

/** The table version and every range key's raw value: what a refusal must leave as it was. */
async function tableState(): Promise<{ version: number; ranges: Record<string, string> }> {
  const t = await readTable(client);
  return { version: t!.version, ranges: await client.getAll().prefix(RANGES_PREFIX).strings() };
}

describe('splitRange', () => {
  it('makes both halves in one transaction with the range owner and epoch; both bounds pass the epoch check', async () => {
    const before = (await readTable(client))!;
    const whole = before.rangeOf(700);
    expect(whole).toMatchObject({ from: 0, to: 1023, owner: { kind: 'node', id: 'node-a' }, epoch: 1 });
    // The view must never hold a table with only one half: each update is validated whole.
    const seen: { version: number; lower: number }[] = [];
    const off = view.onUpdate(() => {
      const t = view.tryCurrent();
      if (t !== null) seen.push({ version: t.version, lower: t.rangeOf(0).to });
    });
    const s = await splitRange(client, { from: 0, to: 1023, at: 512 });
    expect(s.lower).toEqual({ format: 1, from: 0, to: 511, owner: { kind: 'node', id: 'node-a' }, epoch: 1 });
    expect(s.upper).toEqual({ format: 1, from: 512, to: 1023, owner: { kind: 'node', id: 'node-a' }, epoch: 1 });
    expect(s.version).toBe(before.version + 1);
    await view.waitFor((v) => v.tryCurrent()?.version === s.version, 5000);
    off();
    expect(seen.filter((x) => x.version === s.version)).toEqual([{ version: s.version, lower: 511 }]);

    const after = (await readTable(client))!;
    expect(after.ranges).toHaveLength(before.ranges.length + 1);
    expect(after.rangeOf(700)).toMatchObject({ from: 512, to: 1023, epoch: 1 });
    expect(after.rangeOf(100)).toMatchObject({ from: 0, to: 511, epoch: 1 });
    // A router that has not seen the split (claim 0:1) and a node that has not (old table, claim 512:1) both pass.
    expect(checkEpoch(after, 'node-a', { partition: 700, from: 0, epoch: 1 })).toMatchObject({ from: 512 });
    expect(checkEpoch(before, 'node-a', { partition: 700, from: 512, epoch: 1 })).toMatchObject({ from: 0, to: 1023 });
    expect(await codeOf(Promise.resolve().then(() => checkEpoch(after, 'node-b', { partition: 700, from: 0, epoch: 1 })))).toBe('NOT_OWNER');
  });

  it('refuses bounds that are not a range, a point outside the range or at its edge: nothing changes', async () => {
    const state = await tableState();
    const cases: [{ from: number; to: number; at: number }, string][] = [
      [{ from: 0, to: 1023, at: 100 }, 'RANGE_NOT_FOUND'], // split already: not a range any more
      [{ from: 0, to: 100, at: 50 }, 'RANGE_NOT_FOUND'],
      [{ from: 1024, to: 2047, at: 1024 }, 'SPLIT_BAD_POINT'], // the first partition: no lower half
      [{ from: 1024, to: 2047, at: 2048 }, 'SPLIT_BAD_POINT'], // past the end
      [{ from: 1024, to: 2047, at: 100 }, 'SPLIT_BAD_POINT'],
    ];
    for (const [req, code] of cases) expect({ req, code: await codeOf(splitRange(client, req)) }).toEqual({ req, code });
    expect(await tableState()).toEqual(state);
  });

  it('refuses a range with a learner, a fenced range and a range whose move has flipped but not ended; splits it once the move ended', async () => {
    let m = await requestMove(client, { from: 2048, to: 3071, target: 'node-b' });
    const req = { from: 2048, to: 3071, at: 2560 };
    let state = await tableState();
    expect(await codeOf(splitRange(client, req))).toBe('SPLIT_CONFLICT'); // learner
    expect(await tableState()).toEqual(state);
    m = await fenceMove(client, m);
    state = await tableState();
    expect(await codeOf(splitRange(client, req))).toBe('SPLIT_CONFLICT'); // fenced
    expect(await tableState()).toEqual(state);
    m = await flipMove(client, m);
    state = await tableState();
    expect((await readTable(client))!.rangeOf(2048)).toMatchObject({ owner: { id: 'node-b' }, learner: null, fenced: false });
    expect(await codeOf(splitRange(client, req))).toBe('SPLIT_CONFLICT'); // flipped, not done
    expect(await tableState()).toEqual(state);
    await updateMove(client, m, { phase: 'done' });
    const s = await splitRange(client, req);
    expect([s.lower.epoch, s.upper.epoch, s.upper.owner]).toEqual([3, 3, { kind: 'node', id: 'node-b' }]);

    // A cancelled move leaves the range splittable too.
    const c = await requestMove(client, { from: 3072, to: 4095, target: 'node-b' }).catch((err: unknown) => err);
    expect(isLmjError(c, 'MOVE_CONFLICT')).toBe(true); // unowned: nothing to move
    const owned = await setOwner(client, 3072, { kind: 'node', id: 'node-a' });
    const move = await requestMove(client, { from: 3072, to: 4095, target: 'node-b' });
    await abortMove(client, move, 'cancelled', null);
    expect((await splitRange(client, { from: 3072, to: 4095, at: 4000 })).upper).toMatchObject({ from: 4000, to: 4095, epoch: owned.range.epoch });
  });

  it('concurrent splits: of one range, one wins and the other changes nothing; of two ranges, both win', async () => {
    const before = (await readTable(client))!;
    const one = await Promise.allSettled([splitRange(client, { from: 4096, to: 5119, at: 4200 }), splitRange(client, { from: 4096, to: 5119, at: 4600 })]);
    const won = one.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = one.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(isLmjError(lost.reason, 'RANGE_NOT_FOUND')).toBe(true);
    const both = await Promise.all([splitRange(client, { from: 6144, to: 7167, at: 6500 }), splitRange(client, { from: 7168, to: 8191, at: 7200 })]);
    expect(both.map((s) => s.upper.from)).toEqual([6500, 7200]);
    const after = (await readTable(client))!;
    expect(after.version).toBe(before.version + 3);
    expect(after.ranges).toHaveLength(before.ranges.length + 3);
  });
});
