/**
 * Weighing ranges for the balancer and `cluster drain|rebalance`: each range owned by a
 * live node, with the number of devices its owner holds in it (asked of the node, which
 * alone knows; `GET /cluster/v1/move/devices`). One copy for the router's balancer and
 * the CLI, which differ only in how they speak HTTP.
 */
import { LmjError } from '../errors.js';
import type { RangeWeight } from './balance.js';
import type { LiveNodeRecord } from './records.js';
import type { RangeEntry } from './table.js';

/** `http(s)://host:port` of a live node, with the scheme its live record advertises (IPv6 hosts bracketed). */
export function nodeOrigin(node: LiveNodeRecord): string {
  const host = node.address.host.includes(':') ? `[${node.address.host}]` : node.address.host;
  return `${node.scheme ?? 'http'}://${host}:${node.address.port}`;
}

/** One GET through the caller's HTTP client: status and decoded JSON body. */
export type NodeGet = (origin: string, path: string) => Promise<{ status: number; json: unknown }>;

/** Every range owned by a live node, with the devices its owner holds in it; NODE_UNAVAILABLE when a node does not answer. */
export async function weighRanges(
  ranges: readonly Pick<RangeEntry, 'from' | 'to' | 'owner'>[],
  liveNode: (id: string) => LiveNodeRecord | undefined,
  get: NodeGet,
): Promise<RangeWeight[]> {
  const out: RangeWeight[] = [];
  for (const r of ranges) {
    const node = r.owner?.kind === 'node' ? liveNode(r.owner.id) : undefined;
    if (node === undefined) continue;
    const res = await get(nodeOrigin(node), `/cluster/v1/move/devices?from=${r.from}&to=${r.to}`);
    const body = res.json as { devices?: unknown; partitions?: unknown; heat?: unknown } | null;
    const devices = body?.devices;
    if (res.status !== 200 || !Array.isArray(devices)) {
      throw new LmjError('NODE_UNAVAILABLE', `node ${node.id} did not list its devices of range ${r.from}-${r.to} (${res.status})`, { details: { node: node.id } });
    }
    const perDevice = perDeviceOf(body?.partitions, body?.heat, devices.length, r);
    out.push({ from: r.from, to: r.to, owner: node.id, devices: devices.length, ...(perDevice === undefined ? {} : { perDevice }) });
  }
  return out;
}

/** The per-device partitions and heat a node lists with its devices; undefined when absent or malformed (the node's figure is used then). */
function perDeviceOf(partitions: unknown, heat: unknown, n: number, r: { from: number; to: number }): RangeWeight['perDevice'] {
  if (!Array.isArray(partitions) || !Array.isArray(heat) || partitions.length !== n || heat.length !== n) return undefined;
  const out: NonNullable<RangeWeight['perDevice']> = [];
  for (let i = 0; i < n; i++) {
    const p: unknown = partitions[i];
    const h: unknown = heat[i];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < r.from || p > r.to || typeof h !== 'number' || !Number.isFinite(h) || h < 0) return undefined;
    out.push({ partition: p, heat: h });
  }
  return out;
}
