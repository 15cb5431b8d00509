/**
 * Running a SELECT: choose the view, expand `*`, compile, scan the planned device
 * instances (or the table's rows) into a sink, and describe it all for EXPLAIN.
 */
import { LmjError } from '../errors.js';
import type { SelectItem, SelectStmt } from './ast.js';
import type { PartialResult } from './aggregate.js';
import type { Budget } from './budget.js';
import { compileSelect, type CompiledSelect, type ViewColumns } from './compile-select.js';
import { truth, type EvalContext } from './eval.js';
import { accessPlan, selectDevices, type AccessPlan } from './plan.js';
import { DEVICE_COLUMNS, DEVICE_SLOT, TS_SLOT, scanDevice, scanLatest, scanReadings, type Emit } from './scan-readings.js';
import { pushdownDevice, pushdownOf, type Pushdown } from './pushdown.js';
import { makeSink } from './sink.js';
import { columnIndex, scanTable, tableAccess, requireTable } from './tables.js';
import type { TableSchema } from './table-schema.js';
import type { QuerySource, ScanMode, SqlType } from './types.js';
import { readRoot } from '../core/telemetry/root.js';
import { tsPrefix } from '../core/telemetry/model.js';

const TELEMETRY_FIXED = ['device', 'ts', 'ptr'];

/** A SELECT ready to scan: compiled, with its access plan. */
export interface PreparedSelect {
  compiled: CompiledSelect;
  plan: AccessPlan;
  view: 'readings' | 'latest' | 'devices' | 'table';
  table: TableSchema | null;
  /** Stored member names of the member columns, in slot order. */
  members: Buffer[];
  /** Column names read (fixed ones included). */
  referenced: Set<string>;
  /** The aggregate pushdown by "more than one instance" (computed on first use). */
  pushdowns: Map<boolean, Pushdown | null>;
}

function prepared(compiled: CompiledSelect, plan: AccessPlan, view: PreparedSelect['view'], table: TableSchema | null): PreparedSelect {
  return { compiled, plan, view, table, members: compiled.members.map(memberName), referenced: referenced(compiled), pushdowns: new Map() };
}

function pushdownFor(p: PreparedSelect, ctx: EvalContext, instances: number): Pushdown | null {
  const several = instances > 1;
  let push = p.pushdowns.get(several);
  if (push === undefined) {
    push = pushdownOf(p.compiled, ctx, instances);
    p.pushdowns.set(several, push);
  }
  return push;
}

/** The stored member name of a member column: a leading `.` selects a member shadowed by a fixed column. */
export function memberName(column: string): Buffer {
  return Buffer.from(column.startsWith('.') ? column.slice(1) : column, 'utf8');
}

async function memberColumns(source: QuerySource, ids: readonly string[], budget: Budget): Promise<string[]> {
  const names = new Set<string>();
  for (const id of ids) {
    budget.clock();
    const list = await source.readDevice(id, (txn) => {
      const root = readRoot(txn);
      return root === null ? [] : txn.memberList(root.latest).map((n) => n.toString('utf8'));
    });
    for (const n of list ?? []) if (!n.startsWith('$')) names.add(n);
  }
  return [...names].sort().map((n) => (TELEMETRY_FIXED.includes(n) ? `.${n}` : n));
}

function starItems(columns: readonly string[]): SelectItem[] {
  return columns.map((name) => ({ expr: { k: 'col', name }, name, alias: null }));
}

/** Lets pending I/O callbacks run (setImmediate runs after the poll phase). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Synchronous scanning between two yields to the event loop, in ms: long enough that a
 * small query (one device, a few hundred readings) never pays for one, short enough
 * that ingest acks and HTTP keep flowing during a long query.
 */
const SLICE_MS = 2;

/** Resolves the view and compiles `stmt` (expanding `*` needs the source). */
export async function prepareSelect(stmt: SelectStmt, source: QuerySource, ctx: EvalContext, budget: Budget): Promise<PreparedSelect> {
  const viewName = stmt.from;
  if (viewName === 'readings' || viewName === 'latest' || viewName === 'devices') {
    const plan = accessPlan(stmt.where, ctx, 'device', viewName === 'readings' ? 'ts' : null);
    const columns: ViewColumns = viewName === 'devices' ? { fixed: DEVICE_COLUMNS, dynamic: false } : { fixed: TELEMETRY_FIXED, dynamic: true };
    let s = stmt;
    if (stmt.star) {
      const cols = viewName === 'devices'
        ? [...DEVICE_COLUMNS]
        : [...TELEMETRY_FIXED, ...(await memberColumns(source, selectDevices(plan.devices, await source.listDevices()), budget))];
      s = { ...stmt, items: starItems(cols) };
    }
    return prepared(compileSelect(s, columns, ctx), plan, viewName, null);
  }
  if (source.tables === undefined) throw new LmjError('SQL_TABLE_NOT_FOUND', `no table ${viewName} (pseudo-tables are not offered here)`);
  const store = await source.tables();
  const table = store.read((txn) => requireTable(txn, viewName));
  const types = new Map<string, SqlType>(table.columns.map((c) => [c.name, c.type]));
  const s = stmt.star ? { ...stmt, items: starItems(table.columns.map((c) => c.name)) } : stmt;
  const compiled = compileSelect(s, { fixed: table.columns.map((c) => c.name), dynamic: false, types }, ctx);
  return prepared(compiled, { devices: { kind: 'all' }, from: null, to: null }, 'table', table);
}

/** Scans and aggregates: the partial result of this source (before HAVING/FILL/ORDER/LIMIT). */
export async function selectPartial(p: PreparedSelect, source: QuerySource, ctx: EvalContext, budget: Budget, mode: ScanMode): Promise<PartialResult> {
  const c = p.compiled;
  const sink = makeSink(c, p.view === 'table' ? { tsSlot: null, devSlot: null } : { tsSlot: p.view === 'devices' ? null : TS_SLOT, devSlot: DEVICE_SLOT }, budget);
  const where = c.where;
  const emit: Emit = (row) => (where !== null && truth(where(row)) !== true ? true : sink.add(row));
  if (p.view === 'table' && p.table !== null && source.tables !== undefined) {
    const t = p.table;
    const wanted = t.columns.map(() => false);
    for (const name of p.referenced) wanted[columnIndex(t, name)] = true;
    const store = await source.tables();
    budget.stats.instances++;
    store.read((txn) => scanTable(txn, requireTable(txn, t.name), c.stmt.where, ctx, wanted, budget, (row) => emit(row)));
    return sink.partial();
  }
  const members = p.members;
  const width = c.width;
  const d = p.plan.devices;
  const ids = (d.kind === 'list' ? source.knownDevices?.(d.ids) : undefined) ?? selectDevices(d, await source.listDevices());
  const push = p.view === 'readings' && (mode === 'auto' || mode === 'batch') ? pushdownFor(p, ctx, ids.length) : null;
  const pushScan = {
    from: p.plan.from,
    to: p.plan.to,
    fromKey: p.plan.from === null ? null : tsPrefix(p.plan.from),
    toKey: p.plan.to === null ? null : tsPrefix(p.plan.to),
    members,
    fns: c.aggs.map((a) => a.fn),
  };
  const wantPtr = p.referenced.has('ptr');
  let slice = performance.now();
  for (const id of ids) {
    // Each instance is one synchronous read transaction; between instances, once a
    // slice of scanning has passed, the event loop runs (ingest acks, HTTP) so a long
    // query never stalls the daemon's writes.
    if (performance.now() - slice >= SLICE_MS) {
      await yieldToEventLoop();
      slice = performance.now();
    }
    budget.clock();
    const more = await source.readDevice(id, (txn) => {
      budget.stats.instances++;
      if (p.view === 'devices') return scanDevice(txn, id, emit, budget);
      if (p.view === 'latest') return scanLatest(txn, id, members, width, emit, budget);
      if (push !== null && pushdownDevice(txn, id, push, pushScan, sink, budget)) return true;
      return scanReadings(txn, id, { from: p.plan.from, to: p.plan.to, members, mode, wantPtr }, width, emit, budget);
    });
    if (more === false) break;
  }
  return sink.partial();
}

/** Column names a compiled select reads (fixed ones included). */
function referenced(c: CompiledSelect): Set<string> {
  return new Set([...c.referencedFixed, ...c.members]);
}

function deviceText(p: PreparedSelect, ids: string[], total: number): string {
  const d = p.plan.devices;
  const how = d.kind === 'all' ? 'all devices' : d.kind === 'list' ? `device = / IN (${d.ids.length} named)` : `device LIKE ${JSON.stringify(d.pattern)}`;
  const shown = ids.slice(0, 10).join(', ') + (ids.length > 10 ? `, … (${ids.length - 10} more)` : '');
  return `instances: ${ids.length} of ${total} device instances (${how})${ids.length > 0 ? `: ${shown}` : ''}`;
}

/** Per instance (first 10): the first and last reading pointer of the planned range. */
async function pointerRanges(source: QuerySource, ids: readonly string[], plan: AccessPlan): Promise<string[]> {
  const out: string[] = [];
  for (const id of ids) {
    const line = await source.readDevice(id, (txn) => {
      const root = readRoot(txn);
      if (root === null) return `  ${id}: no readings`;
      const range: { from?: Buffer; to?: Buffer } = {};
      if (plan.from !== null) range.from = tsPrefix(plan.from);
      if (plan.to !== null) range.to = tsPrefix(plan.to);
      const first = txn.setRange(root.readings, { ...range, limit: 1 })[0];
      const last = txn.setRange(root.readings, { ...range, limit: 1, reverse: true })[0];
      if (first === undefined || last === undefined) return `  ${id}: no readings in range`;
      return `  ${id}: readings set ${root.readings.toString('hex')}, reading pointers ${first.subarray(8).toString('hex')} … ${last.subarray(8).toString('hex')}`;
    });
    if (line !== undefined) out.push(line);
  }
  return out;
}

/** EXPLAIN: the plan as text lines. */
export async function explainSelect(p: PreparedSelect, source: QuerySource, ctx: EvalContext, mode: ScanMode): Promise<string[]> {
  const c = p.compiled;
  const lines: string[] = [`SELECT from ${p.view === 'table' ? `pseudo-table ${p.table?.name ?? ''}` : `view ${p.view}`}`];
  if (p.view === 'table' && p.table !== null) {
    lines.push(`instance: tables; ${tableAccess(p.table, c.stmt.where, ctx)}`);
    lines.push(`members read per row: ${[...p.referenced].join(', ') || '(none)'}`);
  } else {
    const all = await source.listDevices();
    lines.push(deviceText(p, selectDevices(p.plan.devices, all), all.length));
    if (p.view === 'readings') {
      const from = p.plan.from === null ? 'first' : `ts ${p.plan.from} (element ${Buffer.from(tsPrefix(p.plan.from)).toString('hex')}…)`;
      const to = p.plan.to === null ? 'last' : `ts ${p.plan.to} (element ${Buffer.from(tsPrefix(p.plan.to)).toString('hex')}…), exclusive`;
      lines.push(`readings range per instance: one cursor over the readings set from ${from} to ${to}`);
      lines.push(...(await pointerRanges(source, selectDevices(p.plan.devices, all).slice(0, 10), p.plan)));
      const walk = 'one main cursor walk from the first reading pointer (gets for out-of-order pointers)';
      const get = 'one main get per member per reading';
      const first = selectDevices(p.plan.devices, all)[0];
      const native = first !== undefined && (await source.readDevice(first, (txn) => txn.nativeScan)) === true;
      const batch = native
        ? 'batches of 1,024 readings, one addon call each (set cursor and member gets in C++, numbers decoded there)'
        : 'batches of 1,024 readings (set cursor range and one get per member, in TypeScript)';
      const how = c.members.length === 0 ? 'no member reads' : mode === 'walk' ? walk : mode === 'get' ? get : batch;
      lines.push(`members read per reading: ${c.members.join(', ') || '(none: element only)'} — ${how}`);
      if (native && mode !== 'walk' && mode !== 'get' && pushdownFor(p, ctx, selectDevices(p.plan.devices, all).length) !== null) {
        lines.push('aggregate pushdown: WHERE, groups and aggregates computed in the addon, one call per instance (row scan for an instance with non-numeric values)');
      }
    } else if (p.view === 'latest') {
      lines.push(`per instance: root → latest object; members read: ${c.members.join(', ') || '(none)'}`);
    } else {
      lines.push('per instance: root object members device_id, first_seen, last_seen, reading_count; latest.$ts');
    }
  }
  lines.push(c.where === null ? 'filter: none' : 'filter: WHERE evaluated on every row visited');
  if (c.aggregated) {
    const fns = c.aggs.map((a) => a.fn).join(', ');
    lines.push(`aggregate while scanning: ${c.groupFns.length} group key(s), aggregates: ${fns || '(none)'} (constant memory per group)`);
    if (c.fill !== null) lines.push(`fill empty ${c.fill.width} ms buckets with ${c.fill.fill.kind === 'value' ? c.fill.fill.value : c.fill.fill.kind}`);
    if (c.having !== null) lines.push('having: filter on groups');
  } else if (c.orderFns.length === 0 && c.stmt.limit !== null) {
    lines.push(`stop scanning after ${c.stmt.offset + c.stmt.limit} rows`);
  }
  if (c.orderFns.length > 0) lines.push(`order by ${c.orderFns.length} key(s)${c.stmt.limit !== null ? `, keeping the best ${c.stmt.offset + c.stmt.limit}` : ''}`);
  if (c.stmt.limit !== null || c.stmt.offset > 0) lines.push(`offset ${c.stmt.offset}, limit ${c.stmt.limit ?? 'none'}`);
  return lines;
}
