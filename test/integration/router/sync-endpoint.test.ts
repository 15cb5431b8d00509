/**
 * The router's sync endpoint over real HTTP: batches exported from a real gateway
 * ingest pipeline are applied on the node the routing table names (and nowhere else),
 * byte for byte; replays change nothing; bad batches and bad tokens write nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Encoder } from 'cbor-x';
import { afterEach, describe, expect, it } from 'vitest';
import { getCodec } from '../../../src/codec/index.js';
import { exportRecords } from '../../../src/core/telemetry/records.js';
import type { ReadingRecord } from '../../../src/core/telemetry/types.js';
import { startRouter, type Router } from '../../../src/router/index.js';
import { encodeBatch } from '../../../src/sync/batch.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { TOKEN, gatewayRecords, getJson, ingestor, postBatch, publish, router, sameRecords, silent } from '../sync/helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Device ids that land on different nodes of a 2-node table. */
function devicesOnBothNodes(): [string, string] {
  const codec = getCodec();
  let a: string | undefined;
  let b: string | undefined;
  for (let i = 0; a === undefined || b === undefined; i++) {
    const id = `dev-${i}`;
    if (codec.partitionOf(id) < 32768) a ??= id;
    else b ??= id;
  }
  return [a, b];
}

async function setup(nodes = 2, extra: { maxBatchBytes?: number } = {}): Promise<{ r: Router; dir: string; recs: Map<string, ReadingRecord[]> }> {
  const dir = tmpDir('lmj-router-');
  const gw = await ingestor(join(dir, 'gw'));
  cleanups.push(() => gw.close());
  const ids = devicesOnBothNodes();
  for (const id of ids) await publish(gw, id, 0, 20);
  const recs = new Map<string, ReadingRecord[]>();
  for (const id of ids) recs.set(id, await gatewayRecords(gw, id));
  const r = await router(join(dir, 'router'), nodes, extra);
  cleanups.push(() => r.stop());
  return { r, dir: join(dir, 'router'), recs };
}

function batchOf(recs: Map<string, ReadingRecord[]>, gatewayId = 'gw-1'): Buffer {
  return encodeBatch({ gatewayId, seq: 1, devices: [...recs].map(([deviceId, records]) => ({ deviceId, records })) });
}

async function routerRecords(r: Router, id: string): Promise<ReadingRecord[]> {
  return r.nodes.nodeOf(id).pool.use(id, (s) => s.read((txn) => exportRecords(txn, undefined, 1_000_000)));
}

function devicesOnDisk(dir: string): string[] {
  const out: string[] = [];
  for (const node of ['node-0', 'node-1']) {
    const d = join(dir, 'nodes', node, 'devices');
    if (existsSync(d)) out.push(...readdirSync(d).map((id) => `${node}/${id}`));
  }
  return out;
}

describe('router sync endpoint', () => {
  it('applies a batch byte-identically on the node the routing table names, and nowhere else', async () => {
    const { r, dir, recs } = await setup();
    const res = await postBatch(r, batchOf(recs));
    expect(res.status).toBe(200);
    for (const [id, records] of recs) {
      const a = res.json.devices.find((d: { id: string }) => d.id === id);
      expect(a).toEqual({ id, cursor: records.at(-1)!.element.toString('hex'), applied: 20, duplicates: 0 });
      expect(sameRecords(await routerRecords(r, id), records)).toBeUndefined();
      const node = r.table.nodeFor(getCodec().partitionOf(id));
      const other = node === 'node-0' ? 'node-1' : 'node-0';
      expect(existsSync(join(dir, 'nodes', node, 'devices', id, 'data.mdb'))).toBe(true);
      expect(existsSync(join(dir, 'nodes', other, 'devices', id))).toBe(false);
    }
    expect(devicesOnDisk(dir)).toHaveLength(2);
    expect(new Set(devicesOnDisk(dir).map((p) => p.split('/')[0]))).toEqual(new Set(['node-0', 'node-1']));
  });

  it('a replayed batch changes nothing', async () => {
    const { r, recs } = await setup();
    expect((await postBatch(r, batchOf(recs))).status).toBe(200);
    const again = await postBatch(r, batchOf(recs));
    expect(again.status).toBe(200);
    expect(again.json.devices).toHaveLength(recs.size);
    expect(recs.size).toBeGreaterThan(0);
    for (const d of again.json.devices) expect(d).toMatchObject({ applied: 0, duplicates: 20 });
    for (const [id, records] of recs) expect(sameRecords(await routerRecords(r, id), records)).toBeUndefined();
    const base = `http://127.0.0.1:${r.http.port}`;
    const id = [...recs.keys()][0]!;
    expect((await getJson(base, `/devices/${id}`)).json.readings).toBe(20);
  });

  it('refuses wrong, missing and foreign tokens with 401 and writes nothing', async () => {
    const { r, dir, recs } = await setup();
    const body = batchOf(recs);
    expect((await postBatch(r, body, { 'x-lmj-gateway': 'gw-1', authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);
    expect((await postBatch(r, body, { 'x-lmj-gateway': 'gw-1' })).status).toBe(401);
    expect((await postBatch(r, body, { authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    expect((await postBatch(r, body, { 'x-lmj-gateway': 'gw-2', authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    // gw-2's own token, but the batch claims to come from gw-1.
    const foreign = await postBatch(r, body, { 'x-lmj-gateway': 'gw-2', authorization: 'Bearer gw-2-secret-token-0123456789' });
    expect(foreign.status).toBe(401);
    expect(foreign.json.error.code).toBe('UNAUTHORIZED');
    expect(devicesOnDisk(dir)).toEqual([]);
  });

  it('refuses bad batches whole with a reason and writes nothing', async () => {
    const { r, dir, recs } = await setup(2, { maxBatchBytes: 64 * 1024 });
    const good = batchOf(recs);
    const [a, b] = [...recs.keys()] as [string, string];
    const enc = new Encoder({ useRecords: false });
    const cases: { name: string; body: Buffer; status: number; code: string }[] = [
      { name: 'truncated', body: good.subarray(0, good.length - 7), status: 400, code: 'BAD_BATCH' },
      { name: 'not a map', body: enc.encode([1, 2, 3]), status: 400, code: 'BAD_BATCH' },
      { name: 'wrong version', body: enc.encode({ v: 2, gw: 'gw-1', seq: 1, d: [] }), status: 400, code: 'BAD_BATCH' },
      { name: 'record not [el, members]', body: enc.encode({ v: 1, gw: 'gw-1', seq: 1, d: [[a, [[1, 2, 3]]]] }), status: 400, code: 'BAD_BATCH' },
      {
        // b's readings presented as a's: their pointers carry b's partition.
        name: 'pointer of another device',
        body: encodeBatch({ gatewayId: 'gw-1', seq: 1, devices: [{ deviceId: b, records: recs.get(a)! }] }),
        status: 400,
        code: 'WRONG_PARTITION',
      },
      {
        name: 'member name > 493 bytes',
        body: encodeBatch({
          gatewayId: 'gw-1',
          seq: 1,
          devices: [{ deviceId: a, records: recs.get(a)!.map((rec) => ({ ...rec, members: [{ name: Buffer.alloc(494, 0x20), value: Buffer.from([1]) }, ...rec.members] })) }],
        }),
        status: 400,
        code: 'MEMBER_TOO_LONG',
      },
      {
        name: 'records out of order',
        body: encodeBatch({ gatewayId: 'gw-1', seq: 1, devices: [{ deviceId: a, records: [...recs.get(a)!].reverse() }] }),
        status: 400,
        code: 'BAD_BATCH',
      },
      { name: 'oversize', body: Buffer.concat([good, Buffer.alloc(70 * 1024)]), status: 413, code: 'BATCH_TOO_LARGE' },
    ];
    for (const c of cases) {
      const res = await postBatch(r, c.body);
      expect({ name: c.name, status: res.status, code: res.json?.error?.code }).toEqual({ name: c.name, status: c.status, code: c.code });
      expect(res.json.error.message.length).toBeGreaterThan(0);
    }
    // A batch whose LAST device is bad: the first device must not be written either.
    const lastBad = encodeBatch({ gatewayId: 'gw-1', seq: 1, devices: [{ deviceId: a, records: recs.get(a)! }, { deviceId: b, records: recs.get(a)! }] });
    expect((await postBatch(r, lastBad)).status).toBe(400);
    expect(devicesOnDisk(dir)).toEqual([]);
  });

  it('serves the gateway query API across nodes, with the device location', async () => {
    const { r, recs } = await setup();
    await postBatch(r, batchOf(recs));
    const base = `http://127.0.0.1:${r.http.port}`;
    const list = await getJson(base, '/devices');
    expect(list.json.devices.map((d: { id: string }) => d.id).sort()).toEqual([...recs.keys()].sort());
    for (const [id, records] of recs) {
      const loc = await getJson(base, `/devices/${id}/location`);
      expect(loc.json).toMatchObject({ id, node: r.table.nodeFor(getCodec().partitionOf(id)), gateway: 'gw-1' });
      const summary = await getJson(base, `/devices/${id}`);
      expect(summary.json).toMatchObject({ id, readings: 20, location: { gateway: 'gw-1' } });
      const latest = await getJson(base, `/devices/${id}/latest`);
      expect(latest.json.values.seq).toBe(19);
      const page = await getJson(base, `/devices/${id}/readings?limit=5`);
      expect(page.json.readings.map((x: { ptr: string }) => x.ptr)).toEqual(records.slice(0, 5).map((x) => x.ptr.toString('hex')));
      const ent = await getJson(base, `/devices/${id}/entities/${records[0]!.ptr.toString('hex')}`);
      expect(ent.json).toMatchObject({ type: 'object', exists: true });
    }
    expect((await getJson(base, '/devices/nope-device')).status).toBe(404);
    expect((await getJson(base, '/routing')).json.nodes).toHaveLength(2);
  });
});

describe('router startup and the no-tokens mode', () => {
  it('without a tokens file (loopback) trusts a well-formed x-lmj-gateway header and refuses a missing one', async () => {
    const dir = tmpDir('lmj-router-');
    const gw = await ingestor(join(dir, 'gw'));
    cleanups.push(() => gw.close());
    const [id] = devicesOnBothNodes();
    await publish(gw, id, 0, 5);
    const recs = new Map([[id, await gatewayRecords(gw, id)]]);
    const r = await startRouter({ dataDir: join(dir, 'router'), httpPort: 0, nodes: 2, durability: 'fast', log: silent });
    cleanups.push(() => r.stop());
    const missing = await postBatch(r, batchOf(recs), {});
    expect(missing.status).toBe(401);
    expect(missing.json.error.code).toBe('UNAUTHORIZED');
    expect((await postBatch(r, batchOf(recs), { 'x-lmj-gateway': 'gw 1' })).status).toBe(401);
    const ok = await postBatch(r, batchOf(recs), { 'x-lmj-gateway': 'gw-1' });
    expect(ok.status).toBe(200);
    expect(ok.json.devices).toEqual([expect.objectContaining({ id, applied: 5 })]);
  });

  it('refuses to start without tokens beyond loopback, with a bad tokens file, or a --nodes mismatch', async () => {
    const dir = join(tmpDir('lmj-router-'), 'router');
    const start = (extra: Partial<Parameters<typeof startRouter>[0]>) => startRouter({ dataDir: dir, httpPort: 0, durability: 'fast', log: silent, ...extra });
    // Checked before anything binds: no listener on 0.0.0.0 is ever opened.
    await expect(start({ httpHost: '0.0.0.0' })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/--tokens FILE is required/) });
    await expect(start({ tokensFile: join(dir, 'absent.json') })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/tokens file/) });
    const r = await start({ nodes: 2 });
    await r.stop();
    await expect(start({ nodes: 3 })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/has 2 nodes, --nodes asks for 3/) });
  });
});
