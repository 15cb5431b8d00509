/**
 * Deferred flattening for the journal's applier (./apply-queue.ts): a queued message past
 * the applier's `keepFlat` mark is held as a compact copy of its payload instead of its
 * flattened form (~30 small buffers a message), and flattened again, one codec call per
 * payload format, when its device commits.
 */
import type { PayloadFormat } from '../../codec/types.js';
import { LmjError } from '../../errors.js';
import type { ApplyItem } from './apply-queue.js';
import type { CommitContext } from './commit.js';

/** A queued message held as its payload only: flattened again when its device commits. */
export interface DeferredInput {
  kind: 'telemetry' | 'meta';
  payload: Buffer;
  format: PayloadFormat;
  identity: Buffer;
  receivedAt: number;
}

/** The items with every deferred input flattened; one that no longer flattens (changed flatten limits) becomes its error. */
export function flattenDeferred(ctx: Pick<CommitContext, 'codec' | 'flattenLimits'>, items: readonly ApplyItem[]): readonly ApplyItem[] {
  const byFormat = new Map<PayloadFormat, number[]>();
  items.forEach((it, i) => {
    if (it.input instanceof LmjError || !('payload' in it.input)) return;
    const list = byFormat.get(it.input.format);
    if (list === undefined) byFormat.set(it.input.format, [i]);
    else list.push(i);
  });
  if (byFormat.size === 0) return items;
  const out = [...items];
  for (const [format, idx] of byFormat) {
    const outcomes = ctx.codec.flattenBatch(idx.map((i) => (items[i]!.input as DeferredInput).payload), format, ctx.flattenLimits);
    idx.forEach((i, k) => {
      const d = items[i]!.input as DeferredInput;
      const o = outcomes[k];
      const input = o === undefined || !o.ok ? (o?.error ?? new LmjError('INVALID_PARAM', 'codec returned no outcome')) : { kind: d.kind, flat: o.flat, identity: d.identity, receivedAt: d.receivedAt };
      out[i] = { ...items[i]!, input };
    });
  }
  return out;
}

/**
 * Drops a queued item's flattened form, keeping a compact copy of its payload (the
 * received one may be a view into a much larger socket buffer): flattened again at its commit.
 */
export function deferFlat(item: ApplyItem): void {
  const input = item.input;
  if (input instanceof LmjError || !('flat' in input)) return;
  const payload = Buffer.from(item.msg.payload);
  item.msg = { ...item.msg, payload };
  item.input = { kind: input.kind, payload, format: item.format ?? 'auto', identity: input.identity, receivedAt: input.receivedAt };
}
