/**
 * Segment files: `DIR/<12-digit segment number>.seg`, each starting with a 32-byte
 * header, then records back to back (./record.ts). Header layout (little-endian):
 *
 *   0   8B   magic "LMJJRNL\0"
 *   8   u32  format version (1)
 *   12  u32  reserved, 0
 *   16  u64  segment number (must match the file name)
 *   24  u32  CRC-32 of bytes [0, 24)
 *   28  u32  reserved, 0
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** Size of the segment header; the first record starts here. */
export const SEGMENT_HEADER_BYTES = 32;
/** The format version this build writes and reads. */
export const SEGMENT_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('LMJJRNL\0', 'latin1');
const NAME_RE = /^(\d{12})\.seg$/;

/** The file name of segment `n`. */
export function segmentName(n: number): string {
  return `${String(n).padStart(12, '0')}.seg`;
}

/** The path of segment `n` in `dir`. */
export function segmentPath(dir: string, n: number): string {
  return join(dir, segmentName(n));
}

/** Segment numbers present in `dir`, ascending (other files are ignored). */
export async function listSegments(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir(dir)) {
    const m = NAME_RE.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** The header of segment `n`. */
export function encodeSegmentHeader(n: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(SEGMENT_FORMAT_VERSION, 8);
  h.writeBigUInt64LE(BigInt(n), 16);
  h.writeUInt32LE(crc32(h.subarray(0, 24)), 24);
  return h;
}

/** Why `data` does not start with segment `n`'s header, or undefined when it does. */
export function segmentHeaderProblem(data: Buffer, n: number): string | undefined {
  if (data.length < SEGMENT_HEADER_BYTES) return `header cut short (${data.length} bytes)`;
  if (!data.subarray(0, 8).equals(MAGIC)) return 'bad magic';
  if (crc32(data.subarray(0, 24)) !== data.readUInt32LE(24)) return 'header CRC mismatch';
  const version = data.readUInt32LE(8);
  if (version !== SEGMENT_FORMAT_VERSION) return `unsupported format version ${version}`;
  if (data.readBigUInt64LE(16) !== BigInt(n)) return `header names segment ${data.readBigUInt64LE(16)}, file ${n}`;
  return undefined;
}

/** fsyncs a directory, so a file created, renamed or deleted in it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
