/**
 * Format proof against liblmdb's own tools (lmdb-utils): what we write, mdb_stat and
 * mdb_dump read; what mdb_load writes, we read.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const PTR = Buffer.from('01' + '0001' + '00000000000a' + '00000000000000ff', 'hex');

function tool(bin: string, args: string[], input?: string): string {
  return execFileSync(bin, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** mdb_dump -p escapes: printable ASCII stays, backslash doubles, others are \xx. */
function printable(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\' + b.toString(16).padStart(2, '0');
  }
  return out;
}

describe('LMJCore format vs liblmdb tools', () => {
  it('mdb_stat shows exactly main and set; set is dupsort; mdb_dump shows our key bytes', async () => {
    const dir = tmpDir();
    const s = openStore(dir);
    s.write((t) => {
      t.objRegister(PTR);
      t.memberPut(PTR, 'temp', Buffer.from([0xf9, 0x4d, 0x00]));
      t.memberPut(PTR, Buffer.from([0x00, 0x7e]), 'bin');
    });
    await s.close();

    const stat = tool('mdb_stat', ['-a', dir]);
    const dbs = [...stat.matchAll(/^Status of (.+)$/gm)].map((m) => m[1]);
    expect(dbs).toEqual(['Main DB', 'main', 'set']);

    const setHeader = tool('mdb_dump', ['-p', '-s', 'set', dir]);
    expect(setHeader).toMatch(/^duplicates=1$/m);
    expect(setHeader).toMatch(/^dupsort=1$/m);
    const mainDump = tool('mdb_dump', ['-p', '-s', 'main', dir]);
    expect(mainDump).not.toMatch(/^duplicates=/m);
    const data = mainDump.split('HEADER=END\n')[1]!.split('DATA=END')[0]!.split('\n').filter(Boolean);
    expect(data).toEqual([
      ' ' + printable(Buffer.concat([PTR, Buffer.from([0x00, 0x7e])])),
      ' bin',
      ' ' + printable(Buffer.concat([PTR, Buffer.from('temp')])),
      ' ' + printable(Buffer.from([0xf9, 0x4d, 0x00])),
    ]);
    // Names registered in `set` under the pointer, sorted by bytes; the marker was dropped.
    const setData = setHeader.split('HEADER=END\n')[1]!.split('DATA=END')[0]!.split('\n').filter(Boolean);
    expect(setData).toEqual([' ' + printable(PTR), ' ' + printable(Buffer.from([0x00, 0x7e])), ' ' + printable(PTR), ' temp']);

    // The whole-env dump (-a) has both databases with their flags.
    const all = tool('mdb_dump', ['-a', '-p', dir]);
    expect([...all.matchAll(/^database=(.+)$/gm)].map((m) => m[1])).toEqual(['main', 'set']);
  });

  it('keeps the zero-length existence marker of an empty object visible to mdb_dump', async () => {
    const dir = tmpDir();
    const s = openStore(dir);
    s.write((t) => {
      t.objRegister(PTR);
      t.memberPut(PTR, 'a', '1');
      t.memberDel(PTR, 'a');
    });
    await s.close();
    const dump = tool('mdb_dump', ['-p', '-s', 'set', dir]);
    const rows = dump.split('HEADER=END\n')[1]!.split('DATA=END')[0]!.split('\n').filter(Boolean);
    expect(rows).toEqual([' ' + printable(PTR), ' ']);
  });

  it('reads an instance written by mdb_load from a dump', async () => {
    const dst = tmpDir();
    // Build the dump by hand in mdb_dump's hex format (no engine involved on the write side).
    const hex = (b: Buffer): string => ' ' + b.toString('hex');
    const setPtr = Buffer.from(PTR);
    setPtr[0] = 0x02;
    const mainDump = [
      'VERSION=3', 'format=bytevalue', 'database=main', 'type=btree', 'HEADER=END',
      hex(Buffer.concat([PTR, Buffer.from('hum')])), hex(Buffer.from('55')),
      hex(Buffer.concat([PTR, Buffer.from('temp')])), hex(Buffer.from('21.5')),
      'DATA=END', '',
    ].join('\n');
    const setDump = [
      'VERSION=3', 'format=bytevalue', 'database=set', 'type=btree', 'duplicates=1', 'dupsort=1', 'HEADER=END',
      hex(PTR), hex(Buffer.from('hum')),
      hex(PTR), hex(Buffer.from('missing')),
      hex(PTR), hex(Buffer.from('temp')),
      hex(setPtr), hex(Buffer.from('e1')),
      hex(setPtr), hex(Buffer.from('e2')),
      'DATA=END', '',
    ].join('\n');
    tool('mdb_load', ['-s', 'main', dst], mainDump);
    tool('mdb_load', ['-s', 'set', dst], setDump);
    // Before the engine touches it, the instance holds exactly what mdb_load wrote.
    const entries = Object.fromEntries(
      [...tool('mdb_stat', ['-a', dst]).matchAll(/^Status of (.+)\n(?:  .*\n)*?  Entries: (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    expect(entries).toEqual({ 'Main DB': 2, main: 2, set: 5 });
    const s = openStore(dst);
    s.read((t) => {
      const r = t.objGet(PTR);
      expect(r.members.map((m) => [m.name.toString(), m.value.toString()])).toEqual([
        ['hum', '55'],
        ['temp', '21.5'],
      ]);
      expect(r.errors).toEqual([{ code: 'MEMBER_MISSING', ptr: PTR, name: Buffer.from('missing') }]);
      expect(t.setGet(setPtr).elements.map(String)).toEqual(['e1', 'e2']);
      expect(t.audit()).toEqual([]);
    });
    s.write((t) => t.memberPut(PTR, 'new', 'x'));
    await s.close();
    // And liblmdb still reads it after our write.
    expect(tool('mdb_dump', ['-p', '-s', 'main', dst])).toContain('\\ffnew\n x\n');
  });
});
