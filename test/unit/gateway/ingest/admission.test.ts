import { describe, expect, it } from 'vitest';
import { Admission, combineGates } from '../../../../src/gateway/ingest/admission.js';
import { resolveIngestLimits } from '../../../../src/gateway/ingest/settings.js';
import { isLmjError } from '../../../../src/errors.js';

describe('Admission', () => {
  it('admits synchronously while there is room, then waits (counted once) until a message leaves', async () => {
    let waits = 0;
    const a = new Admission({ maxMessages: 2, maxBytes: 100, onWait: () => waits++ });
    expect(a.enter(10)).toBeUndefined();
    expect(a.enter(10)).toBeUndefined();
    expect([a.pending, a.pendingBytes]).toEqual([2, 20]);
    let admitted = false;
    const third = a.enter(10);
    expect(third).toBeInstanceOf(Promise);
    void third?.then(() => (admitted = true));
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(false);
    expect(waits).toBe(1);
    a.leave(10);
    await third;
    expect(admitted).toBe(true);
    expect([a.pending, a.pendingBytes, waits]).toEqual([2, 20, 1]);
  });

  it('bounds bytes but always admits one message, however large', async () => {
    const a = new Admission({ maxMessages: 10, maxBytes: 50, onWait: () => undefined });
    expect(a.enter(500)).toBeUndefined();
    const next = a.enter(1);
    expect(next).toBeInstanceOf(Promise);
    a.leave(500);
    await next;
    expect([a.pending, a.pendingBytes]).toEqual([1, 1]);
  });

  it('passes every message through the gate first', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let gated = 0;
    const a = new Admission({ maxMessages: 10, maxBytes: 100, gate: () => (gated++, gate), onWait: () => undefined });
    const p = a.enter(1);
    expect(p).toBeInstanceOf(Promise);
    await new Promise((r) => setImmediate(r));
    expect([gated, a.pending]).toEqual([1, 0]);
    open();
    await p;
    expect(a.pending).toBe(1);
  });

  it('admits synchronously while every gate has room (returns undefined), waits for all of them otherwise', async () => {
    let full = false;
    let release!: () => void;
    const budget = (): Promise<void> | undefined => (full ? new Promise<void>((r) => (release = r)) : undefined);
    let outboxOpen!: () => void;
    let outboxFull = false;
    const outbox = (): Promise<void> | undefined => (outboxFull ? new Promise<void>((r) => (outboxOpen = r)) : undefined);
    const gate = combineGates([budget, outbox]);
    expect(combineGates([])).toBeUndefined();
    const a = new Admission({ maxMessages: 10, maxBytes: 100, ...(gate === undefined ? {} : { gate }), onWait: () => undefined });
    expect(a.enter(1)).toBeUndefined();
    expect(a.pending).toBe(1);
    [full, outboxFull] = [true, true];
    const p = a.enter(1);
    expect(p).toBeInstanceOf(Promise);
    release();
    await new Promise((r) => setImmediate(r));
    expect(a.pending).toBe(1);
    outboxOpen();
    await p;
    expect(a.pending).toBe(2);
  });
});

describe('resolveIngestLimits', () => {
  it('applies the defaults', () => {
    expect(resolveIngestLimits({ dataDir: '/x' })).toEqual({
      maxMessages: 4096, maxDelayMs: 2, maxInflight: 1024, maxQueue: 20_000, maxQueueBytes: 64 * 1024 * 1024, maxPayloadBytes: 64 * 1024, applyInFlight: 4, applyBacklog: 100_000, applyKeepFlat: 8192, applyWorker: false,
    });
  });

  it('refuses a non-positive limit with BAD_CONFIG naming the key', () => {
    let caught: unknown;
    try {
      resolveIngestLimits({ dataDir: '/x', queue: { maxBytes: 0 } });
    } catch (err) {
      caught = err;
    }
    expect(isLmjError(caught, 'BAD_CONFIG')).toBe(true);
    expect((caught as { details: { key: string } }).details.key).toBe('queue.maxBytes');
  });
});
