import { describe, expect, it } from 'vitest';
import { getCodec, loadCodec } from '../../../src/codec/index.js';
import { ELEMENT_LEN, KIND_NONE, KIND_NUMBER, KIND_OTHER, ReadingColumns, openStore, type LmjStore, type ReadTxn } from '../../../src/core/index.js';
import { applyReadings, messageIdentity, type ReadingInput } from '../../../src/core/telemetry/index.js';
import { readRoot } from '../../../src/core/telemetry/root.js';
import { ROOT, ROOT_PTR, tsPrefix } from '../../../src/core/telemetry/model.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const T0 = Date.UTC(2026, 10, 1);
const N = 50;
const MEMBERS = ['temp', 'name', 'n', 'big', 'flag', 'missing'].map((m) => Buffer.from(m));

interface Row {
  el: string;
  kinds: number[];
  nums: number[];
}

function inputs(from: number, count: number): ReadingInput[] {
  const codec = getCodec();
  const out: ReadingInput[] = [];
  for (let i = from; i < from + count; i++) {
    const raw = Buffer.from(JSON.stringify({ temp: i + 0.5, name: `r${i}`, n: i % 2 === 0 ? -5 : 300, big: 2 ** 40 + i, flag: i % 3 === 0 }));
    out.push({ flat: codec.flatten(raw, 'json'), identity: messageIdentity(raw), receivedAt: T0 + i * 1000 });
  }
  return out;
}

/** Every batch of [from, to) of `set` (or, for 'root', of the root's `readings` set) through `out`, as plain rows. */
function collect(txn: ReadTxn, set: Buffer | 'root', from: Buffer | null, to: Buffer | null, out: ReadingColumns): Row[] {
  const rows: Row[] = [];
  let start = from;
  for (let first = true; ; first = false) {
    if (set === 'root' && first) txn.ownedReadingColumns(ROOT_PTR, ROOT.readings, start, to, out);
    else txn.readingColumns(set === 'root' ? out.set : set, start, to, out);
    const m = out.members.length;
    for (let r = 0; r < out.rows; r++) {
      rows.push({
        el: out.elements.toString('hex', r * ELEMENT_LEN, (r + 1) * ELEMENT_LEN),
        kinds: [...out.kinds.subarray(r * m, r * m + m)],
        nums: [...out.nums.subarray(r * m, r * m + m)].map((x, i) => (out.kinds[r * m + i] === KIND_NUMBER ? x : 0)),
      });
    }
    if (out.done || out.rows === 0) return rows;
    start = out.after();
  }
}

async function build(dir: string, junk = true): Promise<{ store: LmjStore; set: Buffer }> {
  const store = openStore(dir, { durability: 'fast', partition: 3 });
  store.write((t) => applyReadings(t, 'dev-a', inputs(0, N)));
  const set = store.read((t) => (readRoot(t) as NonNullable<ReturnType<typeof readRoot>>).readings);
  // Elements that are not ts ‖ pointer: a bare ts prefix inside the range and a long one at its end.
  if (junk) store.write((t) => {
    t.setAdd(set, tsPrefix(T0 + 3000));
    t.setAdd(set, Buffer.alloc(40, 0xff));
  });
  return { store, set };
}

describe('ReadTxn.readingColumns', () => {
  it(`runs in the addon exactly when the codec is native (${getCodec().kind})`, async () => {
    const { store } = await build(tmpDir());
    try {
      expect(store.read((t) => t.nativeScan)).toBe(getCodec().kind === 'native');
      // lmdb-js routes reads in a write transaction to it: never the kernel there.
      expect(store.write((t) => t.nativeScan)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('gives each reading its element and members: numbers decoded, other values flagged, absent ones empty', async () => {
    const { store, set } = await build(tmpDir());
    try {
      const rows = store.read((t) => collect(t, set, null, null, new ReadingColumns(MEMBERS)));
      expect(rows.length).toBe(N);
      rows.forEach((r, i) => {
        expect(Buffer.from(r.el, 'hex').readBigUInt64BE(0)).toBe(BigInt(T0 + i * 1000));
        // temp, name (text), n (small ints), big (> 2^32: left to the SQL decoder), flag (bool), missing.
        expect(r.kinds).toEqual([KIND_NUMBER, KIND_OTHER, KIND_NUMBER, KIND_OTHER, KIND_OTHER, KIND_NONE]);
        expect(r.nums.slice(0, 3)).toEqual([i + 0.5, 0, i % 2 === 0 ? -5 : 300]);
      });
      const stored = store.read((t) => t.setRange(set).filter((e) => e.length === ELEMENT_LEN).map((e) => e.toString('hex')));
      expect(rows.map((r) => r.el)).toEqual(stored);
    } finally {
      await store.close();
    }
  });

  it('pages through [from, to) in batches of any size, skipping elements that are not readings', async () => {
    const { store, set } = await build(tmpDir());
    try {
      const from = tsPrefix(T0 + 2000);
      const to = tsPrefix(T0 + 41_000);
      const whole = store.read((t) => collect(t, set, from, to, new ReadingColumns(MEMBERS, 4096)));
      expect(whole.map((r) => Number(Buffer.from(r.el, 'hex').readBigUInt64BE(0)) - T0)).toEqual(Array.from({ length: 39 }, (_, i) => (i + 2) * 1000));
      for (const capacity of [1, 7, 38, 39]) {
        expect(store.read((t) => collect(t, set, from, to, new ReadingColumns(MEMBERS, capacity)))).toEqual(whole);
      }
      expect(store.read((t) => collect(t, set, to, from, new ReadingColumns(MEMBERS)))).toEqual([]);
      expect(store.read((t) => collect(t, set, null, null, new ReadingColumns([], 16))).length).toBe(N);
    } finally {
      await store.close();
    }
  });

  it('answers the same through the native and the portable codec, and sees a write transaction’s own readings', async () => {
    const dir = tmpDir();
    // Without foreign elements: applyReadings refuses a readings set holding them.
    const { store, set } = await build(dir, false);
    const ours = store.read((t) => collect(t, set, null, null, new ReadingColumns(MEMBERS, 10)));
    const inWrite = store.write((t) => {
      applyReadings(t, 'dev-a', inputs(N, 5));
      return collect(t, set, null, null, new ReadingColumns(MEMBERS, 10));
    });
    expect(inWrite.length).toBe(N + 5);
    expect(inWrite.slice(0, N)).toEqual(ours);
    await store.close();
    const portable = openStore(dir, { readOnly: true, codec: loadCodec('portable') });
    try {
      expect(portable.read((t) => t.nativeScan)).toBe(false);
      expect(portable.read((t) => collect(t, set, null, null, new ReadingColumns(MEMBERS, 10)))).toEqual(inWrite);
    } finally {
      await portable.close();
    }
  });

  it('reads the set pointer of an owner\'s member in the first batch, alike in both codecs: no owner, a member that is no set pointer', async () => {
    const dir = tmpDir();
    const { store, set } = await build(dir, false);
    const bySet = store.read((t) => collect(t, set, tsPrefix(T0 + 2000), null, new ReadingColumns(MEMBERS, 7)));
    expect(bySet.length).toBe(N - 2);
    const owned = (s: LmjStore): { rows: Row[]; set: string } => s.read((t) => {
      const out = new ReadingColumns(MEMBERS, 7);
      const rows = collect(t, 'root', tsPrefix(T0 + 2000), null, out);
      return { rows, set: out.set.toString('hex') };
    });
    expect(owned(store)).toEqual({ rows: bySet, set: set.toString('hex') });
    // An object that does not exist: no rows, done after one call.
    const none = store.read((t) => {
      const out = new ReadingColumns(MEMBERS);
      t.ownedReadingColumns(Buffer.concat([Buffer.from([0x01]), Buffer.alloc(16, 0xee)]), ROOT.readings, null, null, out);
      return [out.rows, out.done];
    });
    expect(none).toEqual([0, true]);
    const portable = (): LmjStore => openStore(dir, { readOnly: true, codec: loadCodec('portable') });
    await store.close();
    let p = portable();
    expect(owned(p)).toEqual({ rows: bySet, set: set.toString('hex') });
    await p.close();
    // The root's member holding a number, then an object pointer: STORE_CORRUPT in both codecs.
    for (const bad of [Buffer.from([0x05]), null]) {
      const w = openStore(dir);
      w.write((t) => t.memberPut(ROOT_PTR, ROOT.readings, bad ?? t.objCreate()));
      await w.close();
      for (const open of [() => openStore(dir, { readOnly: true }), portable]) {
        p = open();
        try {
          expect(() => owned(p)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT', message: expect.stringContaining('"readings"') }));
        } finally {
          await p.close();
        }
      }
    }
  });
});
