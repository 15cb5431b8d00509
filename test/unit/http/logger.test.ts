import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RejectionLogger } from '../../../src/http/logger.js';

describe('RejectionLogger', () => {
  it('logs at most N rejections per minute, then says how many it suppressed', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l));
        cb();
      },
    });
    let now = 1_000_000;
    const r = new RejectionLogger(pino({ level: 'info' }, sink), 3, () => now);
    let logged = 0;
    for (let i = 0; i < 10; i++) {
      if (r.reject({ deviceId: `d${i}`, topic: 't', reason: 'BAD_JSON', message: 'payload is not valid JSON' })) logged++;
    }
    expect(logged).toBe(3);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ device: 'd0', reason: 'BAD_JSON', msg: 'message rejected: payload is not valid JSON' });
    now += 60_000;
    expect(r.reject({ reason: 'BAD_TOPIC', message: 'x' })).toBe(true);
    expect(lines[3]).toMatchObject({ suppressed: 7 });
    expect(lines[4]).toMatchObject({ reason: 'BAD_TOPIC' });
  });
});
