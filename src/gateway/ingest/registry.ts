/**
 * The device registry: a gateway-level index (id → first/last seen, reading count)
 * so listing 10,000 devices opens no instance. Derived data, rebuildable from
 * `DIR/devices/`.
 */

/** One registry entry. */
export interface DeviceListEntry {
  id: string;
  firstSeen: number;
  lastSeen: number;
  readings: number;
}

/** Paging for the device list (sorted by id). */
export interface DeviceListQuery {
  /** 1..1000, default 100. */
  limit?: number;
  /** The `next` of the previous page (the last id returned). */
  cursor?: string;
}

/** A page of devices; `next` is null on the last page. */
export interface DeviceListPage {
  devices: DeviceListEntry[];
  next: string | null;
}
