/**
 * Deleting what a move left behind (docs/cluster.md, Moves): after `done`, the source's
 * copy of the range (it keeps it until then, so a flipped range can still be read back
 * from it); after `cancelled` or `rolled-back`, the target's partial copy. Used by
 * `lmj-edge cluster cleanup` and by the elected driver after `--move-cleanup-delay`.
 * A node that owns or is receiving the range again keeps its copy (that is live data):
 * the move then counts as cleaned.
 */
import type { Namespace } from 'etcd3';
import { Agent, request } from 'undici';
import { listLiveNodes, listMoves, nodeOrigin, updateMove, type LiveNodeRecord, type MoveRead } from '../../cluster/index.js';
import { tlsFailure } from '../../http/tls-failure.js';
import type { PeerTls } from '../../http/tls-listener.js';

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
  /** Nodes that advertise https are verified with this CA, and see this certificate (the router's --upstream-ca and own certificate). */
  tls?: PeerTls;
}

/** Cleans every ended move not cleaned yet; returns one result per move tried. */
export async function cleanupMoves(client: Namespace, opts: CleanupOptions = {}): Promise<CleanupResult[]> {
  const { moves } = await listMoves(client);
  const live = new Map((await listLiveNodes(client)).nodes.map((n) => [n.id, n]));
  const out: CleanupResult[] = [];
  const now = Date.now();
  const agent = new Agent(opts.tls === undefined ? {} : { connect: { ...opts.tls } });
  try {
    for (const m of moves) {
      const r = await cleanupOne(client, m, live, now, agent, opts);
      if (r !== undefined) out.push(r);
    }
  } finally {
    await agent.close();
  }
  return out;
}

/** Cleans one move when it is due; undefined when it is not (not ended, cleaned, too recent). */
async function cleanupOne(client: Namespace, m: MoveRead, live: Map<string, LiveNodeRecord>, now: number, agent: Agent, opts: CleanupOptions): Promise<CleanupResult | undefined> {
  const mv = m.move;
  if (mv.cleanedAt !== null || (mv.phase !== 'done' && mv.phase !== 'cancelled' && mv.phase !== 'rolled-back')) return undefined;
  if (now - mv.updatedAt < (opts.olderThanMs ?? 0)) return undefined;
  const nodeId = mv.phase === 'done' ? mv.source : mv.target;
  const node = live.get(nodeId);
  if (node === undefined) return { move: mv.id, node: nodeId, removed: null, error: 'not live; clean up again once it is' };
  let status: number;
  let body: { removed?: number; error?: { code: string; message: string } };
  try {
    const res = await request(`${nodeOrigin(node)}/cluster/v1/move/cleanup`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.clusterToken === undefined ? {} : { authorization: `Bearer ${opts.clusterToken}` }) },
      body: JSON.stringify({ from: mv.range.from, to: mv.range.to }),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    status = res.statusCode;
    body = (await res.body.json()) as typeof body;
  } catch (err) {
    const tls = tlsFailure(err);
    return { move: mv.id, node: nodeId, removed: null, error: tls === undefined ? `cannot reach it: ${(err as Error).message}` : `PEER_TLS: TLS handshake failed: ${tls} (check --upstream-ca)` };
  }
  const kept = body.error?.code === 'MOVE_CONFLICT';
  if ((status !== 200 || body.removed === undefined) && !kept) return { move: mv.id, node: nodeId, removed: null, error: `${body.error?.code ?? status}: ${body.error?.message ?? ''}` };
  await updateMove(client, m, { cleanedAt: Date.now() });
  return { move: mv.id, node: nodeId, removed: kept ? 0 : (body.removed ?? 0) };
}
