/**
 * Quarantined device instances: one small JSON file per device in a directory
 * (`DIR/gateway/quarantined/<id>.json` for the gateway), written when verification
 * found the instance corrupt, so that no later run maps it again (a corrupt page can
 * abort the process that reads it). Removing the file releases the device:
 * `lmj-edge salvage <id> --swap` does that once a fresh instance is in place.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { assertDeviceId, isValidDeviceId } from '../device-id.js';

/** Why and when a device was quarantined. */
export interface QuarantineRecord {
  deviceId: string;
  /** The verifier's finding (paths replaced by the device id). */
  reason: string;
  /** Unix ms. */
  at: number;
}

const SUFFIX = '.json';

/** The quarantine markers in one directory. */
export class QuarantineStore {
  constructor(readonly dir: string) {}

  private fileOf(deviceId: string): string {
    return join(this.dir, `${assertDeviceId(deviceId)}${SUFFIX}`);
  }

  /** True while the device's marker exists. */
  has(deviceId: string): boolean {
    return existsSync(this.fileOf(deviceId));
  }

  /** Every marker (an unreadable one still quarantines its device, with a placeholder reason). */
  list(): QuarantineRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: QuarantineRecord[] = [];
    for (const name of names) {
      const id = name.endsWith(SUFFIX) ? name.slice(0, -SUFFIX.length) : '';
      if (!isValidDeviceId(id)) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Partial<QuarantineRecord>;
        out.push({ deviceId: id, reason: String(r.reason ?? 'unknown'), at: Number(r.at ?? 0) });
      } catch {
        out.push({ deviceId: id, reason: 'quarantine marker unreadable', at: 0 });
      }
    }
    return out.sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  }

  /** Writes the device's marker durably (temporary file, fsync, rename, directory fsync). */
  add(record: QuarantineRecord): void {
    mkdirSync(this.dir, { recursive: true });
    const file = this.fileOf(record.deviceId);
    const tmp = `${file}.tmp`;
    let fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(record));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Removes the device's marker; true when there was one. */
  release(deviceId: string): boolean {
    const file = this.fileOf(deviceId);
    if (!existsSync(file)) return false;
    rmSync(file, { force: true });
    return true;
  }
}
