/**
 * The uplink's export as record items: the addon's (native codec) and the TypeScript
 * path write the same bytes for the same readings, after a cursor, under a record limit
 * and under a bytes bound (always at least one record), and the elements match.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { encodeRecordItems, exportRecordItems, itemElements, recordItemBytes } from '../../../../src/core/telemetry/record-wire.js';
import { exportRecords } from '../../../../src/core/telemetry/records.js';
import { readRoot } from '../../../../src/core/telemetry/root.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';
import { ingestor, publish } from '../../sync/helpers.js';

describe('record items export', () => {
  it('writes the bytes the TypeScript export encodes, with limit, cursor and bytes bound', async () => {
    const ing = await ingestor(join(tmpDir(), 'gw'));
    try {
      await publish(ing, 'dev-w', 0, 40);
      await ing.withDevice('dev-w', (s) =>
        s.read((txn) => {
          const all = exportRecords(txn, undefined, 1000);
          expect(all).toHaveLength(40);
          const native = txn.readingRecordItems(readRoot(txn)!.readings, undefined, 1000, 1 << 20);
          // The native codec must take the addon path; the portable one has none.
          expect(native !== null).toBe(getCodec().kind === 'native');
          const whole = exportRecordItems(txn, undefined, 1000, 1 << 20);
          expect(whole.items.equals(encodeRecordItems(all))).toBe(true);
          expect(whole.cut).toBe(false);
          expect(whole.elements.map((e) => e.toString('hex'))).toEqual(all.map((r) => r.element.toString('hex')));
          const after = all[9]!.element;
          const part = exportRecordItems(txn, after, 7, 1 << 20);
          expect(part.items.equals(encodeRecordItems(all.slice(10, 17)))).toBe(true);
          expect(itemElements(part.items, 7).map((e) => e.toString('hex'))).toEqual(all.slice(10, 17).map((r) => r.element.toString('hex')));
          // Bytes bound: as many whole records as fit; a bound below one record still gives one.
          const three = recordItemBytes(all[0]!) + recordItemBytes(all[1]!) + recordItemBytes(all[2]!);
          const cut = exportRecordItems(txn, undefined, 1000, three + 1);
          expect(cut.elements).toHaveLength(3);
          expect(cut.cut).toBe(true);
          expect(cut.items.equals(encodeRecordItems(all.slice(0, 3)))).toBe(true);
          const one = exportRecordItems(txn, undefined, 1000, 1);
          expect(one.elements).toHaveLength(1);
          expect(one.items.equals(encodeRecordItems(all.slice(0, 1)))).toBe(true);
          expect(exportRecordItems(txn, all[39]!.element, 1000, 1 << 20).elements).toHaveLength(0);
        }),
      );
    } finally {
      await ing.close();
    }
  });
});
