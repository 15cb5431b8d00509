/**
 * The router's `POST /query` (docs/query.md, Router fan-out): the statement is
 * prepared once, every data node of the routing table computes its partial result
 * over the devices it holds, and the router merges them (`finish`: HAVING, FILL,
 * ORDER BY, LIMIT). A node that fails is reported, not fatal: the answer is over the
 * nodes that answered, flagged `partial: true` with `failed: [{node, error}]`.
 *
 * Nodes are {@link QueryNode}s: today the single-process router's in-process nodes
 * (each over its own instance pool); a node process answers the same
 * {@link PartialRequest} over HTTP and plugs in as another QueryNode.
 */
import { LmjError, isLmjError } from '../errors.js';
import { errorBody } from '../http/errors.js';
import { prepareQuery, runQuery, type PartialResult, type PreparedQuery, type QueryAnswer, type QueryOptions, type QuerySource } from '../query/index.js';
import type { ReadTxn } from '../core/types.js';
import type { DeviceReader } from '../devices/read-facade.js';
import type { DataNode, DataNodes } from './data-nodes.js';

/** What a node needs to compute its partial on its own (the JSON body a node process receives). */
export interface PartialRequest {
  sql: string;
  params: QueryOptions['params'];
  /** The router's `now()`, so every node evaluates `now()` alike. */
  now: number;
  limits: QueryOptions['limits'];
}

/** One data node as the fan-out sees it. */
export interface QueryNode {
  readonly id: string;
  /** This node's partial result. `prepared` is the router's compiled statement (in-process nodes use it directly). */
  partial(request: PartialRequest, prepared: PreparedQuery): Promise<PartialResult>;
}

/** Errors that are the statement's fault (the whole query fails), not a node's. */
const QUERY_ERRORS = new Set(['SQL_SYNTAX', 'SQL_UNSUPPORTED', 'SQL_INVALID', 'QUERY_LIMIT', 'SQL_TABLE_NOT_FOUND', 'SQL_TABLE_EXISTS', 'CONSTRAINT_FAILED']);

async function allIds(reader: Pick<DeviceReader, 'listDevices'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await reader.listDevices({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const d of page.devices) ids.push(d.id);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

/**
 * The source of one in-process node: the directory's devices the routing table places
 * on it, read through its pool. A listed device missing on the node's disk is a node
 * failure (DEVICE_UNAVAILABLE), never silently absent.
 */
export function nodeQuerySource(node: DataNode, nodes: DataNodes, reader: Pick<DeviceReader, 'listDevices'>): QuerySource {
  return {
    listDevices: async () => (await allIds(reader)).filter((id) => nodes.nodeOf(id).id === node.id),
    async readDevice<T>(deviceId: string, fn: (txn: ReadTxn) => T): Promise<T | undefined> {
      try {
        return await node.pool.use(deviceId, (store) => store.read(fn));
      } catch (err) {
        if (isLmjError(err) && err.code === 'NOT_FOUND') {
          throw new LmjError('DEVICE_UNAVAILABLE', `device ${deviceId} is listed but missing on node ${node.id}`, { details: { deviceId, node: node.id } });
        }
        throw err;
      }
    },
  };
}

/** The in-process nodes of a single-process router. */
export function localQueryNodes(nodes: DataNodes, reader: Pick<DeviceReader, 'listDevices'>): QueryNode[] {
  return nodes.all().map((node) => {
    const source = nodeQuerySource(node, nodes, reader);
    return { id: node.id, partial: (_req, prepared) => prepared.partial(source) };
  });
}

/**
 * All devices of all nodes, for preparing (`SELECT *` expands from the paths of every
 * device that can be read; a failing node is reported by its partial instead).
 */
function prepareSource(nodes: DataNodes, reader: Pick<DeviceReader, 'listDevices'>): QuerySource {
  return {
    listDevices: () => allIds(reader),
    async readDevice<T>(deviceId: string, fn: (txn: ReadTxn) => T): Promise<T | undefined> {
      return nodes.nodeOf(deviceId).pool.use(deviceId, (store) => store.read(fn)).catch(() => undefined);
    },
  };
}

/** Runs one statement across `queryNodes` and merges the partials. */
export async function scatterGather(queryNodes: readonly QueryNode[], nodes: DataNodes, reader: Pick<DeviceReader, 'listDevices'>, sql: string, options: QueryOptions): Promise<QueryAnswer> {
  const source = prepareSource(nodes, reader);
  const now = options.now ?? Date.now();
  const opts = { ...options, now };
  if (/^\s*explain\b/i.test(sql)) {
    const r = await runQuery(source, sql, opts);
    return { columns: r.columns, rows: r.rows };
  }
  const prepared = await prepareQuery(source, sql, opts);
  const request: PartialRequest = { sql, params: options.params ?? [], now, limits: options.limits };
  const settled = await Promise.allSettled(queryNodes.map((n) => n.partial(request, prepared)));
  const partials: PartialResult[] = [];
  const failed: QueryAnswer['failed'] & object = [];
  settled.forEach((s, i) => {
    const id = queryNodes[i]?.id ?? String(i);
    if (s.status === 'fulfilled') partials.push(s.value);
    else if (isLmjError(s.reason) && QUERY_ERRORS.has(s.reason.code)) throw s.reason;
    else {
      const e = isLmjError(s.reason) ? s.reason : new LmjError('DEVICE_UNAVAILABLE', `node ${id}: ${(s.reason as Error).message}`);
      failed.push({ node: id, error: errorBody(e).error });
    }
  });
  if (queryNodes.length > 0 && failed.length === queryNodes.length) {
    throw new LmjError('DEVICE_UNAVAILABLE', `no data node answered (${failed.map((f) => `${f.node}: ${f.error.code}`).join(', ')})`);
  }
  const r = prepared.finish(partials);
  return failed.length === 0 ? { columns: r.columns, rows: r.rows } : { columns: r.columns, rows: r.rows, partial: true, failed };
}
