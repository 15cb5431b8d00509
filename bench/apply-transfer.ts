/**
 * What a device group costs to hand to the device-apply worker, per message, in process
 * CPU (both sides of the thread boundary, in one thread here, since the work is the same
 * wherever it runs): the flattened form the main thread already computed packed and
 * unpacked (what the worker is sent), against the raw payload packed and unpacked and
 * flattened again in the worker (what it was sent before). The flatten before the ack
 * happens in both and is not counted. Same run, alternating, median of `--runs`.
 *
 * Usage: node dist/bench/apply-transfer.js [--runs 5] [--messages 20000] [--group 200]
 */
import { loadavg } from 'node:os';
import { getCodec } from '../src/codec/index.js';
import { messageIdentity } from '../src/core/telemetry/identity.js';
import { packRecords, unpackRecords, type GroupRecord } from '../src/devices/apply-worker/protocol.js';
import { numArg } from './lib/args.js';
import { median } from './lib/report.js';

const RUNS = numArg('runs', 5, true);
const MESSAGES = numArg('messages', 20_000, true);
const GROUP = numArg('group', 200, true);
const codec = getCodec();

function payload(i: number): Buffer {
  return Buffer.from(JSON.stringify({ env: { temp: 20 + (i % 10) / 10, hum: 40 + (i % 7), pres: 1013.2, co2: 400 + (i % 50), voc: 0.1 }, bat: 3.7, rssi: -60, seq: i, fw: '1.4.2', up: i * 3 }));
}

const payloads = Array.from({ length: MESSAGES }, (_, i) => payload(i));
const raw: GroupRecord[] = payloads.map((p, i) => ({ kind: 'telemetry', receivedAt: 1_700_000_000_000 + i, identity: messageIdentity(p), format: 'auto', payload: p }));
const flat: GroupRecord[] = payloads.map((p, i) => ({ kind: 'telemetry', receivedAt: 1_700_000_000_000 + i, identity: messageIdentity(p), flat: codec.flatten(p) }));

/** µs of process CPU per message to pack, unpack (and with `again`, flatten) every group. */
function once(records: GroupRecord[], again: boolean): number {
  let sink = 0;
  const cpu0 = process.cpuUsage();
  for (let at = 0; at < records.length; at += GROUP) {
    const group = records.slice(at, at + GROUP);
    const unpacked = unpackRecords(packRecords(group), group.length);
    if (again) {
      const outcomes = codec.flattenBatch(unpacked.map((r) => ('payload' in r ? r.payload : Buffer.alloc(0))), 'auto', {});
      for (const o of outcomes) sink += o.ok ? o.flat.paths.length : 0;
    } else {
      for (const r of unpacked) sink += 'flat' in r ? r.flat.paths.length : 0;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  if (sink === 0) throw new Error('nothing was unpacked');
  return (cpu.user + cpu.system) / records.length;
}

const load0 = loadavg().map((l) => l.toFixed(1)).join(' ');
// Warm-up of both paths (JIT, codec), not counted.
once(flat, false);
once(raw, true);
const sent: number[] = [];
const again: number[] = [];
for (let r = 0; r < RUNS; r++) {
  sent.push(once(flat, false));
  again.push(once(raw, true));
}
const a = median(again);
const b = median(sent);
console.log(`\n## apply-worker transfer: ${MESSAGES.toLocaleString('en-US')} env messages in groups of ${GROUP}, median of ${RUNS} (alternating)\n`);
console.log(`load average at start ${load0}, at end ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
console.log('| worker is sent | µs CPU / message (pack + unpack [+ flatten]) | min..max |');
console.log('|---|---|---|');
console.log(`| raw payload, flattened again in the worker (baseline) | ${a.toFixed(2)} | ${Math.min(...again).toFixed(2)}..${Math.max(...again).toFixed(2)} |`);
console.log(`| the main thread's flattened form | ${b.toFixed(2)} (${(b / a).toFixed(2)}x) | ${Math.min(...sent).toFixed(2)}..${Math.max(...sent).toFixed(2)} |`);
