/**
 * The checkpoint file `DIR/checkpoints`: every device's applied position, written
 * atomically (write `checkpoints.tmp`, fdatasync, rename, fsync the directory), so
 * after a crash it holds either the previous or the new checkpoint, never a mix.
 *
 * Layout: 8-byte magic "LMJJCKP\0", u32 LE CRC-32 of the body, u32 LE body length,
 * body = UTF-8 JSON `{"v":1,"devices":{"<id>":[segment, offset], …}}`.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { LmjError } from '../../errors.js';
import { isValidDeviceId } from '../../devices/device-id.js';
import { isPosition, type Position } from './position.js';
import { fsyncDir } from './segment-file.js';

const MAGIC = Buffer.from('LMJJCKP\0', 'latin1');
const HEAD = 16;
/** File name of the checkpoint inside the journal directory. */
export const CHECKPOINT_FILE = 'checkpoints';
const TMP_FILE = 'checkpoints.tmp';

function corrupt(path: string, why: string): LmjError {
  return new LmjError('JOURNAL_CORRUPT', `journal checkpoint ${path} is unreadable: ${why}`, { details: { path, why } });
}

/**
 * Reads the checkpoints: an empty map when the file does not exist. Throws
 * JOURNAL_CORRUPT when it exists but fails its checks (the caller then replays all).
 */
export async function readCheckpoints(dir: string): Promise<Map<string, Position>> {
  const path = join(dir, CHECKPOINT_FILE);
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new LmjError('JOURNAL_IO', `cannot read ${path}`, { cause: err, details: { path } });
  }
  if (data.length < HEAD || !data.subarray(0, 8).equals(MAGIC)) throw corrupt(path, 'bad magic');
  const len = data.readUInt32LE(12);
  if (HEAD + len !== data.length) throw corrupt(path, 'bad length');
  const body = data.subarray(HEAD);
  if (crc32(body) !== data.readUInt32LE(8)) throw corrupt(path, 'CRC mismatch');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw corrupt(path, `bad JSON: ${(err as Error).message}`);
  }
  const devices = (parsed as { v?: unknown; devices?: unknown } | null)?.devices;
  if ((parsed as { v?: unknown }).v !== 1 || typeof devices !== 'object' || devices === null) throw corrupt(path, 'bad body');
  const out = new Map<string, Position>();
  for (const [id, v] of Object.entries(devices)) {
    const p = Array.isArray(v) && v.length === 2 ? { segment: v[0] as number, offset: v[1] as number } : undefined;
    if (!isValidDeviceId(id) || !isPosition(p)) throw corrupt(path, 'bad entry');
    out.set(id, p);
  }
  return out;
}

/** Writes the checkpoints atomically and durably; throws JOURNAL_IO (old file kept). */
export async function writeCheckpoints(dir: string, positions: ReadonlyMap<string, Position>): Promise<void> {
  const devices: Record<string, [number, number]> = {};
  for (const [id, p] of positions) devices[id] = [p.segment, p.offset];
  const body = Buffer.from(JSON.stringify({ v: 1, devices }), 'utf8');
  const head = Buffer.alloc(HEAD);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(crc32(body), 8);
  head.writeUInt32LE(body.length, 12);
  const data = Buffer.concat([head, body]);
  const tmp = join(dir, TMP_FILE);
  try {
    const fh = await open(tmp, 'w');
    try {
      let done = 0;
      while (done < data.length) done += (await fh.write(data, done, data.length - done, done)).bytesWritten;
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, CHECKPOINT_FILE));
    await fsyncDir(dir);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException)?.code;
    throw new LmjError('JOURNAL_IO', `journal checkpoint write failed (${code ?? 'error'})`, {
      cause: err,
      details: { path: tmp, ...(code === undefined ? {} : { errno: code }) },
    });
  }
}

/** Removes a leftover temporary checkpoint (a crash between write and rename). */
export async function removeCheckpointTmp(dir: string): Promise<void> {
  await unlink(join(dir, TMP_FILE)).catch(() => undefined);
}
