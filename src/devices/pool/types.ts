/** Types of the per-device instance pool. */
import type { Codec } from '../../codec/types.js';
import type { Durability, LmjStore } from '../../core/types.js';

/** Options of the pool. */
export interface PoolOptions {
  /** Data directory; instances live in `DIR/devices/<deviceId>/`. */
  dataDir: string;
  durability?: Durability;
  codec?: Codec;
  /** Most instances open at once (default: derived from RLIMIT_NOFILE). */
  maxOpen?: number;
  /** File descriptors kept free for sockets and everything else. */
  fdHeadroom?: number;
  /**
   * File descriptors one open instance may hold at its peak (default: 3 for `safe` —
   * data.mdb twice and lock.mdb — and 4 for `fast`, whose flushes briefly open data.mdb
   * once more).
   */
  fdsPerInstance?: number;
  /** Initial map size per instance (grows on demand). */
  mapSize?: number;
  /** After an open fails, don't retry that device for this long, ms (default 1,000). */
  failureBackoffMs?: number;
  hooks?: {
    open?(deviceId: string): void;
    evict?(deviceId: string): void;
    /** A device was quarantined (or found quarantined by an earlier run at start). */
    quarantine?(deviceId: string, reason: string): void;
  };
  /** Records which instances are mapped, so a crash leaves the suspects named (./in-use-log.ts). */
  inUse?: import('./in-use-log.js').InUseLog;
  /** Persistent quarantine markers (./quarantine.ts): a quarantined device is never opened. */
  quarantine?: import('./quarantine.js').QuarantineStore;
}

/** How to get a device's instance. */
export interface AcquireOptions {
  /** Create the instance if it does not exist (ingest). Default false (reads: NOT_FOUND). */
  create?: boolean;
}

/** How an exclusive hold is used. */
export interface ExclusiveOptions {
  /**
   * The holder opens the instance to use it like the pool would (the device-apply worker):
   * the hold counts as an open (`opens`, the `open` hook), so open rates stay comparable.
   */
  opensInstance?: boolean;
}

/** Pool counters. */
export interface PoolStats {
  /** Gauge: instances open now. */
  open: number;
  /** The cap in force. */
  maxOpen: number;
  opens: number;
  evictions: number;
  /** Acquisitions that had to wait for an instance to become idle. */
  waits: number;
  /** Opens that failed (DEVICE_UNAVAILABLE). */
  openFailures: number;
  /**
   * Opens that hit the process's fd limit (EMFILE/ENFILE) and were retried after an
   * idle instance was closed; non-zero means the budget is too tight for this process.
   */
  fdRetries: number;
  /** Gauge: devices quarantined now. */
  quarantined: number;
  /** Gauge: instances lent out now (open in a borrower, counted in `open` too). */
  lent: number;
  /** Loans asked back (a read, a hold, an eviction, invalidate, close of the device). */
  recalls: number;
}

/** Who borrows a device's instance ({@link DevicePool.lend}): it opens the files itself and gives them back on request. */
export interface Borrower {
  /**
   * Called by the pool when it needs the device (a read, an exclusive hold, an eviction,
   * invalidate, quarantine, close): the borrower closes the instance after its use in
   * progress and then ends the loan ({@link Loan.end}). Called once per loan.
   */
  giveBack(): Promise<void>;
  /** True while the borrower uses the instance (a commit in flight): idle loans are recalled first. */
  busy(): boolean;
}

/** A device's instance lent out by {@link DevicePool.lend}. */
export interface Loan {
  /** The instance directory. */
  readonly dir: string;
  /** True once the pool asked for the instance back. */
  readonly recalled: boolean;
  /**
   * Ends the loan: `closed` true when the borrower closed the instance, false when it lost
   * it (its thread ended: the in-use log keeps the instance suspect). Idempotent.
   */
  end(closed: boolean): void;
}

/** Lazily opened, LRU-bounded per-device instances. */
export interface DevicePool {
  /**
   * Runs `fn` with the device's instance, pinned for the duration (never evicted while
   * in use). Throws BAD_DEVICE_ID, NOT_FOUND (absent and `create` false),
   * DEVICE_UNAVAILABLE (cannot be opened / corrupt).
   */
  use<T>(deviceId: string, fn: (store: LmjStore) => T | Promise<T>, options?: AcquireOptions): Promise<T>;
  /** True when the device's directory exists (no open). Throws BAD_DEVICE_ID. */
  exists(deviceId: string): boolean;
  /** True when the device's instance is open now (and not closing); never opens it. */
  isOpen(deviceId: string): boolean;
  /**
   * Eviction hint: idle instances of devices for which `keep` answers true are closed only
   * when no other idle instance is left (least recently used first within each class).
   */
  preferKeeping(keep: (deviceId: string) => boolean): void;
  /** The instance directory of a (validated) device id. */
  pathOf(deviceId: string): string;
  /**
   * Marks a device's instance as broken (e.g. a commit failed with STORE_CORRUPT): it is
   * closed once idle, and uses fail with `error` for the backoff period, then reopen.
   */
  invalidate(deviceId: string, error: import('../../errors.js').LmjError): void;
  /**
   * Holds the device exclusively: new uses wait (queued), current users finish, the
   * instance is closed, `fn(dir)` runs with nothing open on it (compaction swaps the
   * files), then queued uses reopen it. SHUTTING_DOWN after `close()`.
   */
  exclusive<T>(deviceId: string, fn: (dir: string) => Promise<T>, options?: ExclusiveOptions): Promise<T>;
  /**
   * Lends the device's instance to a borrower that opens it itself (the device-apply
   * worker): an exclusive hold (as above, counted in `opens`) that lasts until the
   * borrower ends the loan, which it does when {@link Borrower.giveBack} is called —
   * by a use, hold, invalidate, quarantine or close of the device, or to free a slot
   * under the cap, which a loan takes like an open instance (it waits for one).
   * SHUTTING_DOWN after `close()`; DEVICE_UNAVAILABLE for a quarantined device.
   */
  lend(deviceId: string, borrower: Borrower): Promise<Loan>;
  /**
   * Quarantines a device whose instance failed verification: never opened again
   * (uses and exclusive holds throw DEVICE_UNAVAILABLE, reason QUARANTINED) until its
   * marker is removed (`lmj-edge salvage --swap`). Persistent with a quarantine store.
   */
  quarantine(deviceId: string, reason: string): void;
  /** The devices quarantined now, sorted by id. */
  quarantined(): { deviceId: string; reason: string }[];
  stats(): PoolStats;
  /** Waits for users to finish, closes every instance. */
  close(): Promise<void>;
}
