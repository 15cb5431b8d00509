/** A device whose instance cannot be opened: 503 DEVICE_UNAVAILABLE naming the device, never a filesystem path. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getCodec } from '../../../../src/codec/index.js';
import { buildGatewayHttpApi } from '../../../../src/gateway/http/api.js';
import { createIngestor } from '../../../../src/gateway/ingest/index.js';
import { createLogger } from '../../../../src/http/logger.js';
import { GatewayMetrics } from '../../../../src/gateway/metrics.js';
import { tmpDir } from '../../../helpers/tmp-dir.js';

describe('HTTP errors of an unavailable device', () => {
  it('say which device, not where its files are', async () => {
    const dir = tmpDir();
    const tel = 'devices/bad-1/telemetry';
    const first = await createIngestor({ dataDir: dir });
    await first.submit({ topic: tel, payload: Buffer.from('{"v":1}'), qos: 1 });
    await first.close();
    writeFileSync(join(dir, 'devices', 'bad-1', 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));

    const metrics = new GatewayMetrics(getCodec().kind);
    const ingestor = await createIngestor({ dataDir: dir, hooks: metrics.ingestHooks() });
    const app = buildGatewayHttpApi({ source: ingestor, metrics, log: createLogger('silent'), isShuttingDown: () => false });
    onTestFinished(async () => {
      await app.close();
      await ingestor.close();
    });
    expect(await ingestor.submit({ topic: tel, payload: Buffer.from('{"v":2}'), qos: 1 })).toMatchObject({ code: 'DEVICE_UNAVAILABLE' });

    for (const url of ['/devices/bad-1', '/devices/bad-1/latest', '/devices/bad-1/readings']) {
      const res = await app.inject(url);
      expect(res.statusCode).toBe(503);
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('DEVICE_UNAVAILABLE');
      expect(body.error.message).toMatch(/device bad-1/);
      expect(body.error.message).not.toContain(dir);
      expect(body.error.message).not.toMatch(/\/devices\/bad-1/);
    }
    const dl = JSON.parse((await app.inject('/deadletters')).body) as { deadLetters: { code: string; message: string }[] };
    expect(dl.deadLetters.map((d) => d.code)).toEqual(['DEVICE_UNAVAILABLE']);
    expect(dl.deadLetters[0]!.message).not.toContain(dir);
  });
});
