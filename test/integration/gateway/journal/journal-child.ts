/**
 * Child process for the journal's strace and SIGKILL tests.
 *
 *   groups <dir> <groups> <devices>: `groups` groups, each one append() of one record
 *     per device, all in one event-loop turn; prints `stats <json>` at the end.
 *   stream <dir> <count>: `count` appends of one record, one per event-loop turn, none
 *     awaited before the next (so groups pipeline); exits 3 if any resolves out of append
 *     order; prints `stats <json>` at the end.
 *   loop <dir>: appends groups of 1..20 records over 8 devices forever (up to 4 appends
 *     outstanding, so the writer pipelines), printing
 *     `acked <deviceId> <seq> <segment> <offset>` for each durable record. Devices
 *     d0..d6 are reported applied right after their ack; d7 only every 25th group
 *     (a lagging device), so segments are deleted while others still pin some.
 */
import { Journal } from '../../../../src/gateway/journal/index.js';
import { testRecord } from '../../../helpers/journal-records.js';

async function groups(dir: string, count: number, devices: number): Promise<void> {
  const j = await Journal.open({ dir, segmentBytes: 64 * 1024 * 1024, maxBytes: 256 * 1024 * 1024 });
  let seq = 0;
  for (let g = 0; g < count; g++) {
    // One append call per device in the same turn, as the ingest pipeline would issue them.
    await Promise.all(Array.from({ length: devices }, (_, d) => j.append([testRecord(`d${d}`, seq++)])));
  }
  const stats = j.stats();
  await j.close();
  process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
}

async function stream(dir: string, count: number): Promise<void> {
  const j = await Journal.open({ dir, segmentBytes: 64 * 1024 * 1024, maxBytes: 256 * 1024 * 1024 });
  let resolved = 0;
  const all: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    all.push(
      j.append([testRecord(`d${i % 8}`, i, 200)]).then(() => {
        if (resolved++ !== i) process.exit(3);
      }),
    );
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(all);
  const stats = j.stats();
  await j.close();
  process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
}

async function loop(dir: string): Promise<void> {
  const j = await Journal.open({ dir, segmentBytes: 16 * 1024, maxBytes: 64 * 1024 * 1024, checkpointIntervalMs: 5 });
  const lagging = new Map<string, { segment: number; offset: number }>();
  let seq = 0;
  // Up to 4 appends outstanding, one new one per turn: the writer pipelines its groups.
  const outstanding: Promise<void>[] = [];
  for (let g = 0; ; g++) {
    const size = 1 + (g % 20);
    const first = seq;
    const records = Array.from({ length: size }, (_, i) => testRecord(`d${(g * 7 + i) % 8}`, seq++, g % 13));
    outstanding.push(
      j.append(records).then((positions) => {
        const lines: string[] = [];
        records.forEach((r, i) => {
          const p = positions[i]!;
          lines.push(`acked ${r.deviceId} ${first + i} ${p.segment} ${p.offset}`);
          if (r.deviceId === 'd7') lagging.set(r.deviceId, p);
          else j.applied(r.deviceId, p);
        });
        process.stdout.write(`${lines.join('\n')}\n`);
        if (g % 25 === 24) for (const [id, p] of lagging) j.applied(id, p);
      }),
    );
    if (outstanding.length >= 4) await outstanding.shift();
    else await new Promise((r) => setImmediate(r));
  }
}

const [mode, dir, a, b] = process.argv.slice(2);
const run =
  dir === undefined ? undefined
  : mode === 'groups' ? groups(dir, Number(a), Number(b))
  : mode === 'stream' ? stream(dir, Number(a))
  : mode === 'loop' ? loop(dir)
  : undefined;
if (run === undefined) {
  process.stderr.write('usage: journal-child groups <dir> <groups> <devices> | stream <dir> <count> | loop <dir>\n');
  process.exit(2);
}
run.catch((error: unknown) => {
  process.stderr.write(`journal-child failed: ${String(error)}\n`);
  process.exit(1);
});
