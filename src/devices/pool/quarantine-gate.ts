/**
 * The pool's in-memory view of quarantined devices (./quarantine.ts keeps the markers on
 * disk): the error a quarantined device's uses throw, and the check that lets a device
 * back in once `lmj-edge salvage --swap` removed its marker.
 */
import { join } from 'node:path';
import { LmjError } from '../../errors.js';
import { deviceMessage } from './device-message.js';
import type { QuarantineStore } from './quarantine.js';

/** Quarantined devices of one pool. */
export class QuarantineGate {
  private readonly held = new Map<string, { reason: string; error: LmjError }>();

  constructor(
    private readonly devicesDir: string,
    private readonly store: QuarantineStore | undefined,
    private readonly onQuarantine: (id: string, reason: string) => void,
  ) {}

  /** Holds `id` (reason as recorded, made path-free); false when it was held already. */
  hold(id: string, reason: string): boolean {
    if (this.held.has(id)) return false;
    const why = deviceMessage(reason, this.devicesDir, join(this.devicesDir, id), id);
    const error = new LmjError(
      'DEVICE_UNAVAILABLE',
      `device ${id} is quarantined: its instance failed verification (${why}); recover it with: lmj-edge salvage ${id} --swap`,
      { details: { deviceId: id, reason: 'QUARANTINED' } },
    );
    this.held.set(id, { reason: why, error });
    this.onQuarantine(id, why);
    return true;
  }

  /** The path-free reason `id` is held for. */
  reasonOf(id: string): string | undefined {
    return this.held.get(id)?.reason;
  }

  /** Throws the quarantine error of `id`, unless its marker was removed (salvaged) since; true when it was let back in. */
  check(id: string): boolean {
    const q = this.held.get(id);
    if (q === undefined) return false;
    if (this.store === undefined || this.store.has(id)) throw q.error;
    this.held.delete(id);
    return true;
  }

  list(): { deviceId: string; reason: string }[] {
    return [...this.held].map(([deviceId, q]) => ({ deviceId, reason: q.reason })).sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
  }

  get size(): number {
    return this.held.size;
  }
}
