/**
 * The daemon's acknowledgement path at the system-call level: `lmj-edge start`
 * (durability safe) runs under strace while a client publishes QoS 1 messages one at a
 * time. Every PUBACK the daemon writes to the client's socket must come after a
 * completed data sync of the right file: for a stored reading, a journal segment
 * (journal on, the default) or the device's data.mdb (journal off); for a rejected one,
 * the dead-letter store's data.mdb. Assertions are on the order of
 * calls in the trace, not on timing. (The `fast` and the sync-state cases are proven on
 * the stores themselves: test/integration/core/durability-syscalls.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../helpers/daemon.js';
import { isDataSync, parseStrace, straceArgs, traceePid, writtenBytes } from '../../helpers/strace.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

describe.each([
  { journal: 'on', stored: (data: string) => (path: string) => path.startsWith(join(data, 'gateway', 'journal')) && path.endsWith('.seg') },
  { journal: 'off', stored: (data: string) => (path: string) => path === join(data, 'devices', 'fs-1', 'data.mdb') },
])('lmj-edge start under strace (durability safe, journal $journal)', ({ journal, stored }) => {
  it('writes each PUBACK only after the data sync of what it acknowledges', async () => {
    const dir = tmpDir();
    const data = join(dir, 'data');
    const traceFile = join(dir, 'strace.out');
    const d = await startDaemon({ dataDir: data, args: ['--durability', 'safe', '--journal', journal], wrap: ['strace', ...straceArgs(traceFile)], timeoutMs: 60_000 });
    const c = await mqtt.connectAsync(d.mqttUrl!, { clientId: 'fsync', reconnectPeriod: 0 });
    const sent: number[] = [];
    c.on('packetsend', (p) => {
      if (p.cmd === 'publish') sent.push(p.messageId!);
    });
    const GOOD = 5;
    for (let seq = 0; seq < GOOD; seq++) await c.publishAsync('devices/fs-1/telemetry', JSON.stringify({ seq }), { qos: 1 });
    // Rejected for what it is: dead-lettered durably, then acked.
    await c.publishAsync('devices/fs-1/telemetry', '{"seq":', { qos: 1 });
    await c.endAsync();
    process.kill(traceePid(d.proc.pid!), 'SIGTERM');
    expect(await d.exited).toBe(0);

    const calls = parseStrace(readFileSync(traceFile, 'utf8'));
    // PUBACK: fixed header 0x40, remaining length 2, packet id (MQTT 3.1.1 §3.4).
    const pubacks = calls.filter((x) => x.path?.startsWith('TCP') === true && /^4002/.test(writtenBytes(x).toString('hex')));
    expect(sent).toHaveLength(GOOD + 1);
    expect(pubacks.map((x) => writtenBytes(x).readUInt16BE(2))).toEqual(sent);
    const isStored = stored(data);
    const deviceSyncs = calls.filter((x) => isDataSync(x, '') && isStored(x.path ?? '')).map((x) => x.index);
    const letterSyncs = calls.filter((x) => isDataSync(x, join(data, 'gateway', 'deadletters', 'data.mdb'))).map((x) => x.index);
    pubacks.forEach((ack, k) => {
      const from = k === 0 ? -1 : pubacks[k - 1]!.index;
      const syncs = k < GOOD ? deviceSyncs : letterSyncs;
      expect(syncs.filter((s) => s > from && s < ack.index).length, `syncs before PUBACK ${k + 1}`).toBeGreaterThanOrEqual(1);
    });
  }, 120_000);
});
