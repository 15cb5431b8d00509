/**
 * Bad-input errors are made without a stack trace (src/errors.ts withoutStack): under a
 * flood of bad payloads capturing one per message was about half of what preparing a
 * batch cost the JS thread. The limit is restored afterwards, also when `make` throws.
 */
import { describe, expect, it } from 'vitest';
import { LmjError, fromStatus, withoutStack } from '../../../src/errors.js';
import { nativeCodec, portableOnly } from './codecs.js';

const frames = (e: Error): number => (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).length;

describe('withoutStack', () => {
  it('makes the error with no stack frames and restores the limit, also after a throw', () => {
    const before = Error.stackTraceLimit;
    const e = withoutStack(() => fromStatus(-33100));
    expect(e).toBeInstanceOf(LmjError);
    expect(e).toMatchObject({ code: 'BAD_JSON', errno: -33100, message: 'payload is not valid JSON' });
    expect(frames(e)).toBe(0);
    expect(Error.stackTraceLimit).toBe(before);
    expect(() =>
      withoutStack(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(Error.stackTraceLimit).toBe(before);
    expect(frames(new LmjError('BAD_JSON'))).toBeGreaterThan(0);
  });

  it('is what the native codec uses for a bad payload in a batch', () => {
    // The portable-only leg has no addon to check; the native leg must have one.
    expect(nativeCodec === undefined).toBe(portableOnly);
    if (nativeCodec === undefined) return;
    const [bad, good] = nativeCodec.flattenBatch([Buffer.from('{"seq":1,'), Buffer.from('{"seq":1}')], 'auto');
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_JSON' } });
    if (bad?.ok === false) expect(frames(bad.error)).toBe(0);
    expect(good?.ok).toBe(true);
  });
});
