/**
 * `lmj-edge start` prints a short summary once up (listeners, data dir, codec and why,
 * durability, upstream, dashboard URL, heap limit) and logs the same fields as one JSON
 * `started` line.
 *
 * The heap limit (src/cli/heap-limit.ts, src/cli/launcher.ts): started without a heap flag,
 * `start` re-executes itself with memory.heapMb / memory.semiSpaceMb, so the daemon (the
 * pid in its log lines) is the launcher's child and reports the V8 `heap_size_limit` a node
 * started with those flags has; SIGTERM to the launcher drains the daemon and exits 0; a
 * SIGKILLed launcher takes the daemon with it. Through bin/lmj-edge.js the launcher decides
 * before the CLI is loaded (flag > env > config file, as the config has it) and holds no
 * more than a bare Node. A heap flag given to node (NODE_OPTIONS) wins: no re-exec.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const CODEC = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';

/** V8's heap_size_limit (MB, rounded) of a node started with `flags`. */
function heapLimitOf(flags: string[]): number {
  const r = spawnSync(process.execPath, [...flags, '-p', 'Math.round(require("v8").getHeapStatistics().heap_size_limit / 1048576)'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  expect(r.status).toBe(0);
  return Number(r.stdout.trim());
}

/** Resolves once both the text summary and the JSON `started` log line are out. */
async function summaryOf(d: DaemonProcess): Promise<{ text: string; logged: Record<string, unknown> }> {
  const done = (): boolean => d.stdout().includes('  upstream:') && d.stderr().includes('"msg":"started"');
  await new Promise<void>((res, rej) => {
    if (done()) return res();
    const check = (): void => {
      if (done()) res();
    };
    d.proc.stdout?.on('data', check);
    d.proc.stderr?.on('data', check);
    void d.exited.then((c) => rej(new Error(`daemon exited (${c}):\n${d.stderr()}`)));
  });
  const line = d.stderr().split('\n').find((l) => l.includes('"msg":"started"'));
  expect(line).toBeDefined();
  const parsed = JSON.parse(line!) as { pid: number; summary: Record<string, unknown> };
  return { text: d.stdout(), logged: { ...parsed.summary, pid: parsed.pid } };
}

describe('start summary', () => {
  it('names listeners, data dir, codec, durability, upstream and the dashboard URL, in text and in the JSON log', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data, args: ['--durability', 'fast'], env: { LMJ_EDGE_LOG_LEVEL: 'info', LMJ_CODEC: CODEC }, reexec: true });
    const { text, logged } = await summaryOf(d);
    expect(text).toContain('lmj-edge started\n');
    expect(text).toContain(`  mqtt:       127.0.0.1:${d.mqttPort} (embedded broker, plain TCP, no TLS, no auth)\n`);
    expect(text).toContain(`  http:       127.0.0.1:${d.httpPort} (plain HTTP, no TLS)\n`);
    expect(text).toContain(`  dashboard:  http://127.0.0.1:${d.httpPort}/\n`);
    expect(text).toContain(`  data:       ${data}\n`);
    expect(text).toMatch(new RegExp(`\\n  codec:      ${CODEC} \\(`));
    expect(text).toContain('  durability: fast (a power cut may lose acknowledged readings)\n');
    expect(text).toContain('  upstream:   none\n');
    // The defaults (memory.heapMb 160, memory.semiSpaceMb 8), applied by re-executing.
    const limit = heapLimitOf(['--max-old-space-size=160', '--max-semi-space-size=8']);
    expect(limit).toBeLessThan(heapLimitOf([]));
    expect(text).toContain(`  memory:     V8 heap limit ${limit} MB (memory.heapMb 160, memory.semiSpaceMb 8)\n`);
    expect(logged.pid).not.toBe(d.proc.pid);
    expect(logged).toMatchObject({ dataDir: data, upstream: 'none', dashboard: `http://127.0.0.1:${d.httpPort}/` });
    expect(String(logged.codec)).toMatch(new RegExp(`^${CODEC} `));
    // The dashboard really is where the summary says.
    const page = await fetch(String(logged.dashboard));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    // The launcher relays SIGTERM: the daemon drains and the launcher exits with its code.
    expect(await d.kill('SIGTERM')).toBe(0);
  });

  it('bin/lmj-edge.js launches with memory.* from the environment over the config file, before loading the CLI; a SIGKILLed launcher takes the daemon with it', async () => {
    const dir = tmpDir();
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ memory: { heapMb: 64, semiSpaceMb: 4 } }));
    const d = await startDaemon({ dataDir: join(dir, 'data'), args: ['--config', config], env: { LMJ_EDGE_LOG_LEVEL: 'info', LMJ_EDGE_HEAP_MB: '96' }, reexec: true, bin: true });
    const { text, logged } = await summaryOf(d);
    expect(text).toContain(`  memory:     V8 heap limit ${heapLimitOf(['--max-old-space-size=96', '--max-semi-space-size=4'])} MB (memory.heapMb 96, memory.semiSpaceMb 4)\n`);
    // The launcher's own child: it started the daemon with the right flags the first time.
    const children = readFileSync(`/proc/${d.proc.pid}/task/${d.proc.pid}/children`, 'utf8').trim().split(/\s+/);
    expect(children).toEqual([String(logged.pid)]);
    // Not the CLI and its dependencies (~25 MB anonymous when loaded): about a bare Node's.
    const anonKb = Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8'))?.[1]);
    expect(anonKb).toBeLessThan(15 * 1024);
    // stdio closes once every process holding it exited: the launcher and the daemon.
    const closed = new Promise<void>((r) => d.proc.once('close', () => r()));
    expect(await d.kill('SIGKILL')).toBe('SIGKILL');
    await closed;
    const refused = await fetch(`${d.httpUrl}/healthz`).then(
      () => 'answered',
      (err: unknown) => ((err as { cause?: { code?: string } }).cause?.code ?? 'other'),
    );
    expect(refused).toBe('ECONNREFUSED');
  });

  it('keeps a heap flag given to node (NODE_OPTIONS) and does not re-execute', async () => {
    const d = await startDaemon({ dataDir: tmpDir(), env: { LMJ_EDGE_LOG_LEVEL: 'info', NODE_OPTIONS: '--max-old-space-size=100' }, reexec: true, bin: true });
    const { text, logged } = await summaryOf(d);
    expect(text).toContain(`  memory:     V8 heap limit ${heapLimitOf(['--max-old-space-size=100'])} MB (set by a heap flag given to node; memory.heapMb not applied)\n`);
    expect(logged.pid).toBe(d.proc.pid);
    expect(await d.kill('SIGTERM')).toBe(0);
  });
});
