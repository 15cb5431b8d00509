/**
 * Crash safety: a child process streams write transactions and reports each commit;
 * we SIGKILL it mid-stream and reopen. Every reported commit must be complete, no
 * object may be partial, and there must be no ghosts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open } from 'lmdb';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/core/index.js';
import { tmpDir } from '../../helpers/tmp-dir.js';
import { INDEX_PTR, MEMBERS } from './crash-writer.js';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

/** Runs the writer until it reported `commits` commits, SIGKILLs it, returns the reports. */
function runAndKill(dir: string, mode: string, commits: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const reported = new Map<number, string>();
    let buf = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /^committed (\d+) ([0-9a-f]{34})$/.exec(line);
        if (m) reported.set(Number(m[1]), m[2]!);
      }
      if (!killed && reported.size >= commits) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(reported);
      else reject(new Error(`writer exited with ${String(code)}: ${stderr}`));
    });
  });
}

/** Every object pointer registered in `set`, read with lmdb-js directly (no engine). */
async function rawObjectPointers(dir: string): Promise<string[]> {
  const env = open(dir, { maxDbs: 4, overlappingSync: false, readOnly: true } as never);
  const set = env.openDB('set', { keyEncoding: 'binary', encoding: 'binary', dupSort: true } as never);
  const out: string[] = [];
  for (const k of set.getKeys({}) as Iterable<Buffer>) if (k[0] === 0x01) out.push(k.toString('hex'));
  await env.close();
  return out;
}

async function check(dir: string, reported: Map<number, string>): Promise<void> {
  const s = openStore(dir);
  const indexed = new Map<number, string>();
  s.read((t) => {
    for (const el of t.setGet(INDEX_PTR).elements) indexed.set(el.readUInt32BE(0), el.subarray(4).toString('hex'));
    // Every reported commit is there.
    for (const [seq, ptr] of reported) expect(indexed.get(seq)).toBe(ptr);
    // Every object that exists is complete: all members, every value right.
    for (const [seq, ptr] of indexed) {
      const r = t.objGet(Buffer.from(ptr, 'hex'));
      expect(r.errors).toEqual([]);
      expect(r.members.map((m) => m.name.toString()).sort()).toEqual([...MEMBERS].sort());
      for (const m of r.members) expect(m.value.toString()).toBe(`${m.name.toString()}-${seq}-${'x'.repeat(seq % 50)}`);
    }
    expect(t.audit()).toEqual([]);
  });
  await s.close();
  // No object outside the index (an object and its index entry commit together).
  expect((await rawObjectPointers(dir)).sort()).toEqual([...indexed.values()].sort());
}

describe('crash safety (SIGKILL mid-stream)', () => {
  it('sync write(): every reported commit is complete, nothing partial, no ghosts', async () => {
    const dir = tmpDir();
    const reported = await runAndKill(dir, 'write', 60);
    expect(reported.size).toBeGreaterThanOrEqual(60);
    await check(dir, reported);
  });

  it('writeAsync(): every resolved commit is complete, nothing partial, no ghosts', async () => {
    const dir = tmpDir();
    const reported = await runAndKill(dir, 'writeAsync', 60);
    expect(reported.size).toBeGreaterThanOrEqual(60);
    await check(dir, reported);
  });
});
