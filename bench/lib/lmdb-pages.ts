/**
 * Disk use of device instances, as liblmdb's own `mdb_stat` reports it: pages in use
 * (every page of data.mdb up to the last one written, minus the free list) and the file
 * pages, summed over `DIR/devices/<id>/` (or one instance directory).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Page counts of one or more LMDB environments. */
export interface LmdbPages {
  /** Bytes of pages holding data (used − free). */
  inUseBytes: number;
  /** Bytes of data.mdb up to its last page (what the file occupies). */
  fileBytes: number;
  /** Bytes of pages on the free lists. */
  freeBytes: number;
  envs: number;
}

/** `mdb_stat -ef` of one environment directory. */
export function envPages(dir: string): LmdbPages {
  const out = execFileSync('mdb_stat', ['-ef', dir], { encoding: 'utf8' });
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? Number.NaN);
  const pageSize = num(/Page size: (\d+)/);
  const used = num(/Number of pages used: (\d+)/);
  const free = num(/Free pages: (\d+)/);
  return { inUseBytes: (used - free) * pageSize, fileBytes: used * pageSize, freeBytes: free * pageSize, envs: 1 };
}

/** Sum over every device instance under a data directory's `devices/`. */
export function dataDirPages(dataDir: string): LmdbPages {
  const root = join(dataDir, 'devices');
  const sum: LmdbPages = { inUseBytes: 0, fileBytes: 0, freeBytes: 0, envs: 0 };
  if (!existsSync(root)) return sum;
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory() || !existsSync(join(root, e.name, 'data.mdb'))) continue;
    const p = envPages(join(root, e.name));
    sum.inUseBytes += p.inUseBytes;
    sum.fileBytes += p.fileBytes;
    sum.freeBytes += p.freeBytes;
    sum.envs++;
  }
  return sum;
}
