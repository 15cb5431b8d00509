/** The routing table (src/router/routing-table.ts): validation, the JSON file, NO_ROUTE. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initialTable, LocalRoutingTable, PARTITIONS, validateTable, type RoutingTableData } from '../../../src/router/routing-table.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const two = (): RoutingTableData => initialTable(2);
const badConfig = (fn: () => unknown, message: RegExp): void => {
  expect(fn).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(message) }));
};

describe('routing table validation', () => {
  it('accepts the initial tables and splits partitions evenly', () => {
    for (const n of [1, 2, 3, 256]) validateTable(initialTable(n));
    expect(two().ranges).toEqual([
      { from: 0, to: 32767, node: 'node-0' },
      { from: 32768, to: 65535, node: 'node-1' },
    ]);
    badConfig(() => initialTable(0), /nodes must be 1..256/);
    badConfig(() => initialTable(257), /nodes must be 1..256/);
  });

  it('refuses node dirs that could leave the data directory', () => {
    for (const dir of ['../x', 'nodes/../../etc', '/etc', 'nodes//a', 'nodes/a/', '.', '', 'a b', 'nodes/.hidden']) {
      const t = two();
      t.nodes[1]!.dir = dir;
      badConfig(() => validateTable(t), /dir must be a relative path of plain names/);
    }
    const ok = two();
    ok.nodes[1]!.dir = 'deep/nodes/n_1-b';
    validateTable(ok);
  });

  it('refuses bad shapes, node ids, duplicates, gaps, overlaps and unknown nodes', () => {
    badConfig(() => validateTable(null as unknown as RoutingTableData), /expected \{version, nodes, ranges\}/);
    badConfig(() => validateTable({ ...two(), version: 1.5 }), /expected \{version, nodes, ranges\}/);
    const cases: [string, (t: RoutingTableData) => void, RegExp][] = [
      ['bad id', (t) => (t.nodes[0]!.id = 'node 0'), /node ids are/],
      ['long id', (t) => (t.nodes[0]!.id = 'n'.repeat(65)), /node ids are/],
      ['duplicate', (t) => (t.nodes[1]!.id = 'node-0'), /listed twice/],
      ['gap', (t) => (t.ranges[1]!.from = 32769), /without gaps or overlaps/],
      ['overlap', (t) => (t.ranges[1]!.from = 32767), /without gaps or overlaps/],
      ['reversed', (t) => (t.ranges[0]!.to = -1), /without gaps or overlaps/],
      ['short', (t) => (t.ranges[1]!.to = PARTITIONS - 2), /must cover 0..65535/],
      ['unknown node', (t) => (t.ranges[1]!.node = 'node-9'), /names unknown node node-9/],
    ];
    for (const [, mutate, message] of cases) {
      const t = two();
      mutate(t);
      badConfig(() => validateTable(t), message);
    }
  });
});

describe('LocalRoutingTable', () => {
  it('creates the file once; an existing table wins; a different --nodes is BAD_CONFIG', () => {
    const file = join(tmpDir(), 'router', 'routing.json');
    const t = LocalRoutingTable.openOrCreate(file, 3);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(initialTable(3));
    expect(t.nodeFor(0)).toBe('node-0');
    expect(t.nodeFor(PARTITIONS - 1)).toBe('node-2');
    expect(LocalRoutingTable.openOrCreate(file, undefined).snapshot()).toEqual(initialTable(3));
    expect(LocalRoutingTable.openOrCreate(file, 3).nodes().map((n) => n.id)).toEqual(['node-0', 'node-1', 'node-2']);
    badConfig(() => LocalRoutingTable.openOrCreate(file, 2), /has 3 nodes, --nodes asks for 2/);
  });

  it('refuses an unreadable or invalid table file', () => {
    const dir = join(tmpDir(), 'router');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'routing.json');
    writeFileSync(file, '{"version":1,');
    badConfig(() => LocalRoutingTable.openOrCreate(file, undefined), /is unreadable/);
    const escaping = two();
    escaping.nodes[0]!.dir = '../../outside';
    writeFileSync(file, JSON.stringify(escaping));
    badConfig(() => LocalRoutingTable.openOrCreate(file, undefined), /dir must be a relative path/);
  });

  it('answers NO_ROUTE for a partition outside 0..65535', () => {
    const t = LocalRoutingTable.openOrCreate(join(tmpDir(), 'routing.json'), 2);
    for (const p of [-1, PARTITIONS, 1.5, Number.NaN]) {
      expect(() => t.nodeFor(p), String(p)).toThrow(expect.objectContaining({ code: 'NO_ROUTE' }));
    }
    expect(t.nodeFor(32767)).toBe('node-0');
    expect(t.nodeFor(32768)).toBe('node-1');
  });
});
