/**
 * `lmj-edge start` prints a short summary once up (listeners, data dir, codec and why,
 * durability, upstream, dashboard URL) and logs the same fields as one JSON `started` line.
 */
import { describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProcess } from '../../helpers/daemon.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const CODEC = process.env['LMJ_CODEC'] === 'portable' ? 'portable' : 'native';

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
  return { text: d.stdout(), logged: (JSON.parse(line!) as { summary: Record<string, unknown> }).summary };
}

describe('start summary', () => {
  it('names listeners, data dir, codec, durability, upstream and the dashboard URL, in text and in the JSON log', async () => {
    const data = tmpDir();
    const d = await startDaemon({ dataDir: data, args: ['--durability', 'fast'], env: { LMJ_EDGE_LOG_LEVEL: 'info', LMJ_CODEC: CODEC } });
    const { text, logged } = await summaryOf(d);
    expect(text).toContain('lmj-edge started\n');
    expect(text).toContain(`  mqtt:       127.0.0.1:${d.mqttPort} (embedded broker, plain TCP, no TLS, no auth)\n`);
    expect(text).toContain(`  http:       127.0.0.1:${d.httpPort} (plain HTTP, no TLS)\n`);
    expect(text).toContain(`  dashboard:  http://127.0.0.1:${d.httpPort}/\n`);
    expect(text).toContain(`  data:       ${data}\n`);
    expect(text).toMatch(new RegExp(`\\n  codec:      ${CODEC} \\(`));
    expect(text).toContain('  durability: fast (a power cut may lose acknowledged readings)\n');
    expect(text).toContain('  upstream:   none\n');
    expect(logged).toMatchObject({ dataDir: data, upstream: 'none', dashboard: `http://127.0.0.1:${d.httpPort}/` });
    expect(String(logged.codec)).toMatch(new RegExp(`^${CODEC} `));
    // The dashboard really is where the summary says.
    const page = await fetch(String(logged.dashboard));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await d.kill('SIGTERM')).toBe(0);
  });
});
