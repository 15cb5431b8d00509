/**
 * Deleting what a move left behind (docs/cluster.md, Moves): after `done`, the source's
 * copy of the range (it keeps it until then, so a flipped range can still be read back
 * from it); after `cancelled` or `rolled-back`, the target's partial copy. Used by
 * `lmj-edge cluster cleanup` and by the elected driver after `--move-cleanup-delay`.
 * A node that owns or is receiving the range again keeps its copy (that is live data):
 * the move then counts as cleaned.
 */
import type { Namespace } from 'etcd3';
import { request } from 'undici';
import { listLiveNodes, listMoves, updateMove } from '../../cluster/index.js';

/** What cleanup did for one move. */
export interface CleanupResult {
  move: string;
  node: string;
  /** Devices removed (null: not cleaned this time, see `error`). */
  removed: number | null;
  error?: string;
}

/** Options of {@link cleanupMoves}. */
export interface CleanupOptions {
  /** Sent as `authorization: Bearer` (LMJ_EDGE_CLUSTER_TOKEN). */
  clusterToken?: string;
  /** Only moves that ended at least this long ago, ms (default 0). */
  olderThanMs?: number;
}

/** Cleans every ended move not cleaned yet; returns one result per move tried. */
export async function cleanupMoves(client: Namespace, opts: CleanupOptions = {}): Promise<CleanupResult[]> {
  const { moves } = await listMoves(client);
  const live = new Map((await listLiveNodes(client)).nodes.map((n) => [n.id, n]));
  const out: CleanupResult[] = [];
  const now = Date.now();
  for (const m of moves) {
    const mv = m.move;
    if (mv.cleanedAt !== null || (mv.phase !== 'done' && mv.phase !== 'cancelled' && mv.phase !== 'rolled-back')) continue;
    if (now - mv.updatedAt < (opts.olderThanMs ?? 0)) continue;
    const nodeId = mv.phase === 'done' ? mv.source : mv.target;
    const node = live.get(nodeId);
    if (node === undefined) {
      out.push({ move: mv.id, node: nodeId, removed: null, error: 'not live; clean up again once it is' });
      continue;
    }
    const host = node.address.host.includes(':') ? `[${node.address.host}]` : node.address.host;
    let status: number;
    let body: { removed?: number; error?: { code: string; message: string } };
    try {
      const res = await request(`http://${host}:${node.address.port}/cluster/v1/move/cleanup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(opts.clusterToken === undefined ? {} : { authorization: `Bearer ${opts.clusterToken}` }) },
        body: JSON.stringify({ from: mv.range.from, to: mv.range.to }),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      status = res.statusCode;
      body = (await res.body.json()) as typeof body;
    } catch (err) {
      out.push({ move: mv.id, node: nodeId, removed: null, error: `cannot reach it: ${(err as Error).message}` });
      continue;
    }
    const kept = body.error?.code === 'MOVE_CONFLICT';
    if ((status !== 200 || body.removed === undefined) && !kept) {
      out.push({ move: mv.id, node: nodeId, removed: null, error: `${body.error?.code ?? status}: ${body.error?.message ?? ''}` });
      continue;
    }
    await updateMove(client, m, { cleanedAt: Date.now() });
    out.push({ move: mv.id, node: nodeId, removed: kept ? 0 : (body.removed ?? 0) });
  }
  return out;
}
