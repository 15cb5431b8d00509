import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageIdentity } from '../../../../src/core/telemetry/index.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { cbor, ingestor, json, openFds, tel } from './helpers.js';

describe('ingest pipeline', () => {
  it('stores JSON and CBOR readings, dedupes redeliveries, answers queries', async () => {
    const dir = tmpDir();
    const ing = await ingestor(dir);
    try {
      const p1 = json({ seq: 1, env: { temp: 20.5 } });
      const p2 = cbor({ seq: 2, env: { temp: 21 }, raw: Buffer.from([1, 2]) });
      const [r1, r2, r3, m] = await Promise.all([
        ing.submit({ topic: tel('s1'), payload: p1, qos: 1, receivedAt: 1000 }),
        ing.submit({ topic: tel('s1'), payload: p2, qos: 1, receivedAt: 2000 }),
        ing.submit({ topic: tel('s1'), payload: p1, qos: 1, receivedAt: 3000 }),
        ing.submit({ topic: 'devices/s1/meta', payload: json({ fw: '1.2' }), qos: 0, receivedAt: 2500 }),
      ]);
      expect(r1).toMatchObject({ status: 'stored', deviceId: 's1', ts: 1000 });
      expect(r2).toMatchObject({ status: 'stored', ts: 2000 });
      expect(r3).toEqual({ status: 'duplicate', deviceId: 's1', ptr: r1.status === 'stored' ? r1.ptr : '' });
      expect(m).toEqual({ status: 'meta', deviceId: 's1' });
      const later = await ing.submit({ topic: tel('s1'), payload: p2, qos: 1 });
      expect(later.status).toBe('duplicate');

      expect(await ing.latest('s1')).toEqual({ id: 's1', ts: 2000, values: { seq: 2, 'env.temp': 21, raw: { $bytes: 'AQI=' } } });
      const summary = await ing.deviceSummary('s1');
      expect(summary).toMatchObject({ id: 's1', readings: 2, firstSeen: 1000, meta: { fw: '1.2' } });
      const page = await ing.readings('s1', { fields: ['seq'] });
      expect(page.readings.map((r) => r.values)).toEqual([{ seq: 1 }, { seq: 2 }]);
      expect(await ing.findByIdentity('s1', messageIdentity(p2).toString('hex'))).toMatchObject({ ts: 2000 });
      const root = await ing.entity('s1', summary.pointers.root);
      expect(root.members?.find((x) => x.name === 'device_id')?.value).toBe('s1');
      await expect(ing.entity('s1', 'nothex')).rejects.toMatchObject({ code: 'INVALID_POINTER' });

      await expect(ing.deviceSummary('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(ing.latest('../x')).rejects.toMatchObject({ code: 'BAD_DEVICE_ID' });
      expect(existsSync(join(dir, 'devices', 'nope'))).toBe(false);
      const stats = ing.stats();
      expect(stats).toMatchObject({ submitted: 5, stored: 2, duplicates: 2, meta: 1, rejected: 0, pending: 0 });
    } finally {
      await ing.close();
    }
  });

  it('rejects every bad input with its code, dead-letters it, writes nothing for it, touches no other device', async () => {
    const dir = tmpDir();
    const ing = await ingestor(dir, { maxPayloadBytes: 1024 });
    try {
      expect((await ing.submit({ topic: tel('good'), payload: json({ v: 1 }), qos: 1 })).status).toBe('stored');
      const deep = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
      const cases: [string, Buffer, string][] = [
        ['devices/../x/telemetry', json({ v: 1 }), 'BAD_TOPIC'],
        ['devices/a/b/telemetry', json({ v: 1 }), 'BAD_TOPIC'],
        ['devices/%2e%2e/telemetry', json({ v: 1 }), 'BAD_DEVICE_ID'],
        ['devices//telemetry', json({ v: 1 }), 'BAD_DEVICE_ID'],
        [tel('x'.repeat(65)), json({ v: 1 }), 'BAD_DEVICE_ID'],
        [tel('dévice'), json({ v: 1 }), 'BAD_DEVICE_ID'],
        [tel('.'), json({ v: 1 }), 'BAD_DEVICE_ID'],
        [tel('..'), json({ v: 1 }), 'BAD_DEVICE_ID'],
        ['other/topic', json({ v: 1 }), 'BAD_TOPIC'],
        [tel('good'), Buffer.from('{"v": 1'), 'BAD_JSON'],
        [tel('good'), Buffer.from([0xa1, 0x61]), 'BAD_CBOR'],
        [tel('good'), Buffer.from(deep), 'TOO_DEEP'],
        [tel('good'), json({ ['k'.repeat(600)]: 1 }), 'PATH_TOO_LONG'],
        [tel('good'), cbor({ v: NaN }), 'NON_FINITE'],
        [tel('good'), cbor([1, 2]), 'NOT_AN_OBJECT'],
        [tel('good'), json({ big: 'x'.repeat(2000) }), 'PAYLOAD_TOO_LARGE'],
        [tel('good2'), Buffer.from('garbage'), 'BAD_CBOR'],
      ];
      const results = await Promise.all(cases.map(([topic, payload]) => ing.submit({ topic, payload, qos: 1, clientId: 'c1' })));
      results.forEach((r, i) => expect(r, cases[i]![0]).toMatchObject({ status: 'rejected', code: cases[i]![2] }));

      // Only the good device has an instance; no path escaped the data directory.
      expect(readdirSync(join(dir, 'devices'))).toEqual(['good']);
      expect(readdirSync(dir).sort()).toEqual(['devices', 'gateway']);
      expect((await ing.deviceSummary('good')).readings).toBe(1);

      const dl = await ing.deadLetters({ limit: 1000 });
      expect(dl.total).toBe(cases.length);
      expect(dl.deadLetters.map((d) => d.code).sort()).toEqual(cases.map((c) => c[2]).sort());
      const tooDeep = dl.deadLetters.find((d) => d.code === 'TOO_DEEP')!;
      expect(tooDeep).toMatchObject({ topic: tel('good'), deviceId: 'good', clientId: 'c1', qos: 1 });
      expect(tooDeep.payload.toString()).toBe(deep);
      const first = await ing.deadLetters({ limit: 5 });
      const second = await ing.deadLetters({ limit: 5, cursor: first.next! });
      expect(first.deadLetters[0]!.seq).toBeGreaterThan(second.deadLetters[0]!.seq);
      expect(new Set([...first.deadLetters, ...second.deadLetters].map((d) => d.seq)).size).toBe(10);
      expect(ing.stats().rejectedByCode).toMatchObject({ BAD_DEVICE_ID: 6, BAD_TOPIC: 3, BAD_JSON: 1, BAD_CBOR: 2 });

      // The next good message still goes through.
      expect((await ing.submit({ topic: tel('good'), payload: json({ v: 2 }), qos: 1 })).status).toBe('stored');
    } finally {
      await ing.close();
    }
  });

  it('resolves only after the commit is durable: a fresh process sees the reading', async () => {
    const dir = tmpDir();
    const ing = await ingestor(dir, { durability: 'safe' });
    try {
      const r = await ing.submit({ topic: tel('d1'), payload: json({ v: 1 }), qos: 1 });
      expect(r.status).toBe('stored');
      const ptr = r.status === 'stored' ? r.ptr : '';
      // Plain lmdb-js in another process, independent of our engine: the pointer's key is in `set`.
      const script = `
        const { open } = await import('lmdb');
        const env = open({ path: process.argv[1], readOnly: true, maxDbs: 4 });
        const set = env.openDB({ name: 'set', dupSort: true, keyEncoding: 'binary', encoding: 'binary' });
        const n = set.getValuesCount(Buffer.from(process.argv[2], 'hex'));
        console.log(n);`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, join(dir, 'devices', 'd1'), ptr], {
        cwd: process.cwd(),
        encoding: 'utf8',
      });
      expect(Number(out.trim())).toBeGreaterThan(0);
    } finally {
      await ing.close();
    }
  });

  it('isolates a corrupt device: its messages are rejected DEVICE_UNAVAILABLE, others keep ingesting', async () => {
    const dir = tmpDir();
    const a = await ingestor(dir);
    await a.submit({ topic: tel('bad'), payload: json({ v: 1 }), qos: 1 });
    await a.submit({ topic: tel('ok'), payload: json({ v: 1 }), qos: 1 });
    await a.close();
    writeFileSync(join(dir, 'devices', 'bad', 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));

    const b = await ingestor(dir);
    try {
      const results = await Promise.all([
        b.submit({ topic: tel('bad'), payload: json({ v: 2 }), qos: 1 }),
        b.submit({ topic: tel('ok'), payload: json({ v: 2 }), qos: 1 }),
        b.submit({ topic: tel('new'), payload: json({ v: 2 }), qos: 1 }),
        b.submit({ topic: tel('bad'), payload: json({ v: 3 }), qos: 1 }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'stored', 'stored', 'rejected']);
      expect(results[0]).toMatchObject({ code: 'DEVICE_UNAVAILABLE', deviceId: 'bad' });
      expect((await b.deviceSummary('ok')).readings).toBe(2);
      const dl = await b.deadLetters();
      expect(dl.deadLetters.map((d) => [d.code, d.deviceId])).toEqual([
        ['DEVICE_UNAVAILABLE', 'bad'],
        ['DEVICE_UNAVAILABLE', 'bad'],
      ]);
      await expect(b.latest('bad')).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE' });
      expect(b.stats().pool.openFailures).toBeGreaterThan(0);
    } finally {
      await b.close();
    }
  });

  it('applies back-pressure at the queue bound and still stores everything', async () => {
    const dir = tmpDir();
    let maxPending = 0;
    const ing = await ingestor(dir, {
      queue: { maxMessages: 8 },
      batch: { maxMessages: 4, maxInflight: 1 },
      hooks: { result: () => (maxPending = Math.max(maxPending, ing.stats().pending)) },
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => ing.submit({ topic: tel(`d${i % 3}`), payload: json({ i }), qos: 1 })),
      );
      expect(results.every((r) => r.status === 'stored')).toBe(true);
      expect(ing.stats().backpressureWaits).toBeGreaterThan(0);
      expect(maxPending).toBeLessThanOrEqual(8);
      const page = await ing.readings('d0', { fields: ['i'] });
      expect(page.readings.map((r) => r.values['i'])).toEqual(Array.from({ length: 20 }, (_, k) => k * 3));
    } finally {
      await ing.close();
    }
  });

  it('keeps at most maxOpen instances open, evicts LRU, and really releases the fds', async () => {
    const dir = tmpDir();
    const before = openFds();
    const opened: string[] = [];
    const evicted: string[] = [];
    const ing = await ingestor(dir, { pool: { maxOpen: 3 }, hooks: { poolOpen: (id) => opened.push(id), poolEvict: (id) => evicted.push(id) } });
    try {
      const gatewayFds = openFds() - before;
      let peak = 0;
      for (let round = 0; round < 2; round++) {
        const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => ing.submit({ topic: tel(`dev-${i}`), payload: json({ i, round }), qos: 1 })));
        expect(rs.every((r) => r.status === 'stored')).toBe(true);
        peak = Math.max(peak, openFds() - before - gatewayFds);
      }
      const s = ing.stats().pool;
      expect(s.open).toBeLessThanOrEqual(3);
      expect(s.evictions).toBeGreaterThanOrEqual(37);
      expect(evicted.length).toBe(s.evictions);
      expect(peak).toBeLessThanOrEqual(3 * 3);
      expect((await ing.listDevices({ limit: 1000 })).devices).toHaveLength(20);
    } finally {
      await ing.close();
    }
    expect(openFds()).toBe(before);
  });

  it('lists devices from the registry with paging and rebuilds it from DIR/devices', async () => {
    const dir = tmpDir();
    const a = await ingestor(dir);
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => a.submit({ topic: tel(`n${String(i).padStart(2, '0')}`), payload: json({ i }), qos: 1, receivedAt: 5000 + i })),
    );
    await a.submit({ topic: tel('n00'), payload: json({ again: 1 }), qos: 1, receivedAt: 9000 });
    const p1 = await a.listDevices({ limit: 10 });
    const p2 = await a.listDevices({ limit: 10, cursor: p1.next! });
    const p3 = await a.listDevices({ limit: 10, cursor: p2.next! });
    expect([...p1.devices, ...p2.devices, ...p3.devices].map((d) => d.id)).toEqual(Array.from({ length: 25 }, (_, i) => `n${String(i).padStart(2, '0')}`));
    expect(p3.next).toBeNull();
    expect(p1.devices[0]).toEqual({ id: 'n00', firstSeen: 5000, lastSeen: 9000, readings: 2 });
    await expect(a.listDevices({ cursor: '../x' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await a.close();

    rmSync(join(dir, 'gateway', 'registry'), { recursive: true });
    const b = await ingestor(dir);
    try {
      await b.flush();
      // Reconcile runs in the background on open; a commit forces nothing, so poll briefly.
      let list = await b.listDevices({ limit: 1000 });
      for (let i = 0; i < 100 && list.devices.length < 25; i++) {
        await new Promise((r) => setTimeout(r, 20));
        list = await b.listDevices({ limit: 1000 });
      }
      expect(list.devices).toHaveLength(25);
      expect(list.devices[0]).toEqual({ id: 'n00', firstSeen: 5000, lastSeen: 9000, readings: 2 });
    } finally {
      await b.close();
    }
  });

  it('after close, submit resolves SHUTTING_DOWN and close drains what was accepted', async () => {
    const dir = tmpDir();
    const ing = await ingestor(dir, { batch: { maxDelayMs: 50 } });
    const accepted = ing.submit({ topic: tel('z'), payload: json({ v: 1 }), qos: 1 });
    await ing.close();
    expect((await accepted).status).toBe('stored');
    expect(await ing.submit({ topic: tel('z'), payload: json({ v: 2 }), qos: 1 })).toMatchObject({ status: 'rejected', code: 'SHUTTING_DOWN' });
    await ing.close();
  });
});
