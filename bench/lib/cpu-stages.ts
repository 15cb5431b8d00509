/**
 * Splits a V8 CPU profile (`node --cpu-prof`) of the daemon into ingest stages: each
 * sample goes to the first stage whose rule matches its stack, leaf first for the
 * engine's own stages and root-ward for the broad ones. Self time of native code (LMDB,
 * the addon) is charged to the JS frame that called it, so `mdb_put` shows up as lmdb-js's
 * `writeInstructions` under the engine frame that wrote.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The stages, in the order of the table. */
export const STAGES = [
  'broker (aedes, mqtt-packet, sockets)',
  'prepare/flatten (topic, codec, identity)',
  'pipeline bookkeeping (queues, groups, results)',
  'reading puts (members, element, ids)',
  'latest updates',
  'dedupe lookups',
  'root and txn bookkeeping',
  'LMDB commit / async txn',
  'metrics',
  'promises / microtasks',
  'GC',
  'idle',
  'other (V8 program, start-up, HTTP)',
] as const;

export type Stage = (typeof STAGES)[number];

const frameText = (f: CallFrame): string => `${f.functionName}@${f.url}`;

/** The stage of one sample, from its stack (leaf first). */
function stageOf(stack: CallFrame[]): Stage {
  const leaf = stack[0]!;
  if (leaf.functionName === '(idle)') return 'idle';
  if (leaf.functionName === '(garbage collector)') return 'GC';
  const has = (re: RegExp): boolean => stack.some((f) => re.test(frameText(f)));
  if (has(/prom-client/)) return 'metrics';
  if (has(/^(flattenBatch|messageIdentity|prepareBatch)@/)) return 'prepare/flatten (topic, codec, identity)';
  if (has(/^(write|add)@.*telemetry\/apply\.js/)) return 'latest updates';
  if (has(/^(writeReadingMembers|objCreateWith|objCreate|objPointer|setAdd|setPut|encodeElement)@/)) return 'reading puts (members, element, ids)';
  if (has(/^memberPut@/) && has(/^(applyReadingsTo|applyReadings|applyRecords)@/)) return 'reading puts (members, element, ids)';
  if (has(/^memberValue@/) && has(/^(applyReadingsTo|applyReadings|applyRecords)@/)) return 'dedupe lookups';
  if (has(/^(applyWork|applyReadingsTo|applyReadings|applyRecords|ensureRoot|readRoot|updateRootStats|lastElement|runGroup|runGroupInChild)@/)) {
    return 'root and txn bookkeeping';
  }
  if (has(/node_modules\/lmdb\//) || has(/src\/core\/group-commit\.js/)) return 'LMDB commit / async txn';
  if (has(/aedes|mqtt-packet|mqemitter|gateway\/broker|node:net|stream/)) return 'broker (aedes, mqtt-packet, sockets)';
  if (has(/gateway\/ingest|devices\/pool|gateway\/metrics/)) return 'pipeline bookkeeping (queues, groups, results)';
  if (has(/^(processTicksAndRejections|runMicrotasks)@/)) return 'promises / microtasks';
  return 'other (V8 program, start-up, HTTP)';
}

/** Milliseconds of main-thread time per stage in one profile. */
export function stageTimes(profilePath: string): Map<Stage, number> {
  const p = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const out = new Map<Stage, number>(STAGES.map((s) => [s, 0]));
  for (const [id, us] of selfUs) {
    const stack: CallFrame[] = [];
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x)!.callFrame);
    const s = stageOf(stack);
    out.set(s, out.get(s)! + us / 1000);
  }
  return out;
}
