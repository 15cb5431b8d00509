/**
 * The last few object/set pointers a write transaction knows to exist, so a member or
 * element write skips its existence lookup. Several, because a reading's writes
 * alternate between the new reading, the `readings` set and the `ids` index. The slots
 * are allocated on first use: a read transaction (one per query per device instance)
 * never needs them.
 */
import { samePointer } from './bytes.js';

/** How many recently used entity pointers are remembered. */
const SLOTS = 4;

/** A small ring of 17-byte pointers (copied in, so callers may reuse their buffers). */
export class KnownPointers {
  private slots: Buffer[] | null = null;
  private count = 0;
  private next = 0;

  has(p: Buffer): boolean {
    for (let i = 0; i < this.count; i++) if (samePointer(p, this.slots![i]!)) return true;
    return false;
  }

  add(p: Buffer): void {
    if (this.has(p)) return;
    this.slots ??= Array.from({ length: SLOTS }, () => Buffer.alloc(17));
    this.slots[this.next]!.set(p);
    this.next = (this.next + 1) % SLOTS;
    if (this.count < SLOTS) this.count++;
  }

  /** After a delete: an entity remembered may be gone. */
  clear(): void {
    this.count = 0;
    this.next = 0;
  }
}
