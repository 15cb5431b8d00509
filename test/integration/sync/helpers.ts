/** Shared helpers of the sync and router tests: a real ingestor, a real router, raw reads. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { getCodec } from '../../../src/codec/index.js';
import { openStore } from '../../../src/core/index.js';
import { exportRecords } from '../../../src/core/telemetry/records.js';
import { readRoot } from '../../../src/core/telemetry/root.js';
import type { ReadingRecord } from '../../../src/core/telemetry/types.js';
import { createIngestor, type Ingestor } from '../../../src/gateway/ingest/index.js';
import { createLogger } from '../../../src/http/logger.js';
import { startRouter, type Router } from '../../../src/router/index.js';

export const TOKEN = 'gw-1-secret-token-0123456789';
export const silent = createLogger('silent');

/** A tokens file for gateway `gw-1`. */
export function tokensFile(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'tokens.json');
  writeFileSync(file, JSON.stringify({ gateways: { 'gw-1': TOKEN, 'gw-2': 'gw-2-secret-token-0123456789' } }));
  return file;
}

/** A router on a free loopback port with `nodes` data nodes and the tokens file. */
export async function router(dir: string, nodes = 2, extra: { maxBatchBytes?: number } = {}): Promise<Router> {
  return startRouter({ dataDir: dir, httpPort: 0, tokensFile: tokensFile(dir), nodes, durability: 'fast', log: silent, ...extra });
}

/** A gateway ingest pipeline (fast durability) in `dir`. */
export function ingestor(dir: string, hooks: Parameters<typeof createIngestor>[0]['hooks'] = {}): Promise<Ingestor> {
  return createIngestor({ dataDir: dir, durability: 'fast', hooks, batch: { maxDelayMs: 1 } });
}

/** Submits `n` readings for a device (payload {seq, temp}); all must be stored. */
export async function publish(ing: Ingestor, deviceId: string, from: number, n: number): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      ing.submit({ topic: `devices/${deviceId}/telemetry`, payload: Buffer.from(JSON.stringify({ seq: from + i, temp: 20 + ((from + i) % 10) / 10, env: { hum: from + i } })), qos: 1 }),
    ),
  );
  const bad = results.filter((r) => r.status !== 'stored');
  if (bad.length > 0) throw new Error(`not stored: ${JSON.stringify(bad[0])}`);
}

/** Every reading record of a device on the gateway. */
export async function gatewayRecords(ing: Ingestor, deviceId: string): Promise<ReadingRecord[]> {
  return ing.withDevice(deviceId, (s) => s.read((txn) => exportRecords(txn, undefined, 1_000_000)));
}

/** Every reading record of a device in an instance directory (opened read-only, closed after). */
export async function recordsAt(path: string): Promise<ReadingRecord[]> {
  const store = openStore(path, { readOnly: true, durability: 'fast' });
  try {
    return store.read((txn) => (readRoot(txn) === null ? [] : exportRecords(txn, undefined, 1_000_000)));
  } finally {
    await store.close();
  }
}

/** The instance directory of a device on the router's node per its routing table. */
export function routerDevicePath(r: Router, dataDir: string, deviceId: string): string {
  const node = r.table.nodeFor(getCodec().partitionOf(deviceId));
  const info = r.table.nodes().find((n) => n.id === node)!;
  return join(dataDir, info.dir, 'devices', deviceId);
}

/** POSTs a raw body to the router's sync endpoint. */
export async function postBatch(
  r: Router,
  body: Buffer,
  headers: Record<string, string> = { 'x-lmj-gateway': 'gw-1', authorization: `Bearer ${TOKEN}` },
): Promise<{ status: number; json: any }> {
  const res = await request(`http://127.0.0.1:${r.http.port}/sync/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor', ...headers },
    body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? null : JSON.parse(text) };
}

/** GET JSON from a base URL. */
export async function getJson(base: string, path: string): Promise<{ status: number; json: any }> {
  const res = await request(`${base}${path}`);
  return { status: res.statusCode, json: await res.body.json() };
}

/** Asserts two record lists are the same readings byte for byte (element, pointer, every member). */
export function sameRecords(a: readonly ReadingRecord[], b: readonly ReadingRecord[]): string | undefined {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!x.element.equals(y.element)) return `element ${i} differs`;
    if (x.members.length !== y.members.length) return `reading ${i}: ${x.members.length} vs ${y.members.length} members`;
    for (let j = 0; j < x.members.length; j++) {
      if (!x.members[j]!.name.equals(y.members[j]!.name) || !x.members[j]!.value.equals(y.members[j]!.value)) return `reading ${i} member ${j} differs`;
    }
  }
  return undefined;
}
