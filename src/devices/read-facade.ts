/**
 * The one read facade over per-device instances, used by the gateway's HTTP API and the
 * router's alike: the device list from a {@link DeviceRegistry}, everything else from
 * the device's instance through the telemetry query functions.
 */
import type { Codec } from '../codec/types.js';
import { entityView } from '../core/telemetry/entity-view.js';
import { deviceSummary, findByIdentity, latest, readings } from '../core/telemetry/query.js';
import type { DeviceSummary, EntityView, LatestView, ReadingView, ReadingsPage, ReadingsQuery } from '../core/telemetry/types.js';
import type { LmjStore } from '../core/types.js';
import { LmjError } from '../errors.js';
import type { DeviceListPage, DeviceListQuery, DeviceRegistry } from './registry.js';

/** Runs `fn` with a device's open instance (NOT_FOUND for an unknown device). */
export type UseDevice = <T>(deviceId: string, fn: (store: LmjStore) => T | Promise<T>) => Promise<T>;

/** Reads of the device list and of one device's telemetry. */
export interface DeviceReader {
  /** Devices from the registry (no instance opened), sorted by id, paged. */
  listDevices(query?: DeviceListQuery): Promise<DeviceListPage>;
  /** Throws BAD_DEVICE_ID, NOT_FOUND (unknown device), DEVICE_UNAVAILABLE. */
  deviceSummary(deviceId: string): Promise<DeviceSummary>;
  /** Throws like {@link deviceSummary}. */
  latest(deviceId: string): Promise<LatestView>;
  /** Throws like {@link deviceSummary}, plus BAD_REQUEST for bad range/limit/cursor. */
  readings(deviceId: string, query?: ReadingsQuery): Promise<ReadingsPage>;
  /** Entity by pointer hex; INVALID_POINTER for bad hex. */
  entity(deviceId: string, ptrHex: string): Promise<EntityView>;
  /** The reading stored for a message identity (hex or bytes), or null. */
  findByIdentity(deviceId: string, identity: string | Uint8Array): Promise<ReadingView | null>;
}

/** What {@link createDeviceReader} reads from. */
export interface DeviceReaderOptions {
  registry: DeviceRegistry;
  use: UseDevice;
  codec: Codec;
}

function orNotFound<T>(deviceId: string, v: T | null): T {
  if (v === null) throw new LmjError('NOT_FOUND', `unknown device ${deviceId}`, { details: { deviceId } });
  return v;
}

/** Builds the read facade over a registry and a way to reach a device's instance. */
export function createDeviceReader({ registry, use, codec }: DeviceReaderOptions): DeviceReader {
  return {
    async listDevices(query) {
      // Registry updates are queued per commit group; include everything already resolved.
      await registry.settle();
      return registry.list(query);
    },
    deviceSummary: async (id) => orNotFound(id, await use(id, (s) => s.read((txn) => deviceSummary(txn)))),
    latest: async (id) => orNotFound(id, await use(id, (s) => s.read((txn) => latest(txn)))),
    readings: async (id, query) => use(id, (s) => s.read((txn) => readings(txn, query))),
    async entity(id, ptrHex) {
      const ptr = codec.parsePointer(ptrHex);
      return use(id, (s) => s.read((txn) => entityView(txn, ptr)));
    },
    async findByIdentity(id, identity) {
      let bytes: Buffer;
      if (typeof identity === 'string') {
        if (!/^[0-9a-fA-F]{32}$/.test(identity)) throw new LmjError('BAD_REQUEST', 'identity must be 32 hex characters');
        bytes = Buffer.from(identity, 'hex');
      } else bytes = Buffer.from(identity);
      return use(id, (s) => s.read((txn) => findByIdentity(txn, bytes)));
    },
  };
}
