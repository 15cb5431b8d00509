/**
 * Runs one range move from its recorded phase to its end (docs/cluster.md, Moves):
 * requested → learner (the target drops stale copies) → copying (every device, bulk) →
 * catching-up (delta passes until one is small) → fenced (one etcd transaction) → final
 * delta after the fence, verified per device (target count = source count) → flipped
 * (one transaction) → done. Every phase change is a compare-and-swap on the move record
 * (src/cluster/moves.ts), so a run that lost its record to a cancel, or to another
 * driver, stops at its next step; each copy call is idempotent, so a resumed run
 * repeats at most one chunk. Copy bytes are throttled by the driver's shared
 * {@link ByteThrottle} (a move with its own rate: by that rate alone).
 */
import type { Namespace } from 'etcd3';
import { abortMove, fenceMove, flipMove, isTerminal, readMove, updateMove, type MoveProgress, type MoveRead, type TableView } from '../../cluster/index.js';
import { LmjError, isLmjError } from '../../errors.js';
import type { Logger } from '../../http/logger.js';
import type { HttpPools } from './http-pools.js';
import { ByteThrottle } from './move-throttle.js';

/** A delta pass smaller than this (bytes) ends catching-up: the fence window then copies about as much. */
const SMALL_PASS_BYTES = 256 * 1024;
/** Catch-up passes before the fence is set anyway. */
const MAX_CATCH_UP_PASSES = 4;
/** Progress is written to etcd at most this often, ms. */
const PROGRESS_EVERY_MS = 1000;

/** What a run needs. */
export interface MoveRunContext {
  client: Namespace;
  view: TableView;
  http: HttpPools;
  clusterToken: string | undefined;
  /** The copy budget every move without a rate of its own shares (the router's `--move-rate`; 0 = unthrottled). */
  throttle: ByteThrottle;
  /** This driver's name, recorded in the move. */
  driver: string;
  log: Logger;
  /** False once this router no longer leads: the run stops at its next step. */
  leading: () => boolean;
}

/** A pull's answer (src/router/node/move-endpoints.ts). */
interface PullAnswer {
  bytes: number;
  readings: number;
  more: boolean;
  count: number;
  sourceCount: number;
}

class Stopped extends Error {}

/** Drives moves; one instance per router. */
export class MoveRunner {
  constructor(private readonly ctx: MoveRunContext) {}

  private origin(node: string): string {
    const live = this.ctx.view.liveNode(node);
    if (live === undefined) throw new LmjError('NODE_UNAVAILABLE', `data node ${node} is not live`, { details: { node } });
    const host = live.address.host.includes(':') ? `[${live.address.host}]` : live.address.host;
    return `http://${host}:${live.address.port}`;
  }

  private async call(node: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {};
    if (this.ctx.clusterToken !== undefined) headers.authorization = `Bearer ${this.ctx.clusterToken}`;
    const res = await this.ctx.http.request(this.origin(node), method, path, headers, body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    if (res.status !== 200) {
      const e = (res.json as { error?: { code?: string; message?: string } } | null)?.error;
      const code = e?.code === 'EPOCH_AHEAD' || e?.code === 'MOVE_CONFLICT' || e?.code === 'NODE_UNAVAILABLE' ? e.code : 'MOVE_FAILED';
      throw new LmjError(code, `${node} ${path}: ${res.status} ${e?.code ?? ''}: ${e?.message ?? ''}`);
    }
    return res.json;
  }

  /** Re-reads the record; stops when the move ended (cancelled) or this router stopped leading. */
  private async fresh(id: string): Promise<MoveRead> {
    if (!this.ctx.leading()) throw new Stopped();
    const m = await readMove(this.ctx.client, id);
    if (isTerminal(m.move.phase)) throw new Stopped();
    return m;
  }

  /** Runs the move until it ends, or until it is cancelled or this router stops leading. */
  async run(id: string): Promise<void> {
    try {
      let m = await this.fresh(id);
      while (!isTerminal(m.move.phase)) m = await this.step(m);
    } catch (err) {
      if (err instanceof Stopped) return;
      if (isLmjError(err, 'MOVE_CONFLICT')) return; // someone else changed the record: the next loop re-reads
      await this.failed(id, err);
      throw err;
    }
  }

  /** A step failed: before the flip with the target gone, roll back (the source stays the owner); else note the error and let the loop retry. */
  private async failed(id: string, err: unknown): Promise<void> {
    const m = await readMove(this.ctx.client, id).catch(() => undefined);
    if (m === undefined || isTerminal(m.move.phase)) return;
    const error = isLmjError(err) ? { code: err.code, message: err.message } : { code: 'MOVE_FAILED', message: String(err) };
    if (m.move.phase !== 'flipped' && this.ctx.view.liveNode(m.move.target) === undefined) {
      await abortMove(this.ctx.client, m, 'rolled-back', { code: 'MOVE_BAD_TARGET', message: `node ${m.move.target} left during the move: ${error.message}` }).catch(() => undefined);
      return;
    }
    await updateMove(this.ctx.client, m, { error }).catch(() => undefined);
  }

  /** One phase forward. */
  private async step(m: MoveRead): Promise<MoveRead> {
    const { client } = this.ctx;
    const mv = m.move;
    this.ctx.log.info({ move: mv.id, phase: mv.phase }, 'move step');
    switch (mv.phase) {
      case 'requested': {
        if (this.ctx.view.liveNode(mv.target) === undefined) return abortMove(client, m, 'rolled-back', { code: 'MOVE_BAD_TARGET', message: `node ${mv.target} is not live` });
        await this.call(mv.target, 'POST', '/cluster/v1/move/begin', { move: mv.id, from: mv.range.from, to: mv.range.to });
        return updateMove(client, m, { phase: 'learner', driver: this.ctx.driver, error: null });
      }
      case 'learner':
        return updateMove(client, m, { phase: 'copying', driver: this.ctx.driver });
      case 'copying': {
        const r = await this.pass(m, undefined);
        return updateMove(client, r.read, { phase: 'catching-up' });
      }
      case 'catching-up': {
        let read = m;
        for (let i = 0; i < MAX_CATCH_UP_PASSES; i++) {
          const r = await this.pass(read, undefined);
          read = r.read;
          if (r.bytes < SMALL_PASS_BYTES) break;
        }
        return fenceMove(client, await this.fresh(read.move.id));
      }
      case 'fenced': {
        // Inside the fence window: no progress writes, the flip records the final figures (its compare catches a cancel).
        if (!this.ctx.leading()) throw new Stopped();
        const r = await this.pass(m, mv.fenceEpoch ?? undefined);
        return flipMove(client, m, { progress: r.progress });
      }
      case 'flipped':
        return updateMove(client, m, { phase: 'done' });
      default:
        return m;
    }
  }

  /**
   * One copy pass over the source's devices of the range: each device is pulled until the
   * target has caught up. With `fence`, every device must end with the target's count
   * equal to the source's (MOVE_FAILED otherwise).
   */
  private async pass(start: MoveRead, fence: number | undefined): Promise<{ read: MoveRead; bytes: number; progress: MoveProgress }> {
    const mv = start.move;
    const listed = (await this.call(mv.source, 'GET', `/cluster/v1/move/devices?from=${mv.range.from}&to=${mv.range.to}${fence === undefined ? '' : `&fence=${fence}`}`)) as { devices: string[] };
    const progress = { ...mv.progress, devicesTotal: listed.devices.length, devicesCopied: 0, passes: mv.progress.passes + 1 };
    const record = fence === undefined;
    let read = record ? await updateMove(this.ctx.client, await this.fresh(mv.id), { progress, driver: this.ctx.driver }) : start;
    let passBytes = 0;
    let written = Date.now();
    const source = this.origin(mv.source);
    const throttle = mv.rateBytesPerSec === null ? this.ctx.throttle : new ByteThrottle(mv.rateBytesPerSec);
    const rate = throttle.rateBytesPerSec;
    const chunk = rate > 0 ? Math.max(16 * 1024, Math.min(1 << 20, Math.floor(rate / 4))) : 1 << 20;
    for (const device of listed.devices) {
      for (;;) {
        const a = (await this.call(mv.target, 'POST', '/cluster/v1/move/pull', { move: mv.id, source, device, maxBytes: chunk, fence: fence ?? null })) as PullAnswer;
        passBytes += a.bytes;
        progress.bytes += a.bytes;
        progress.readings += a.readings;
        // The final delta runs inside the fence window: not throttled.
        if (fence === undefined) await throttle.pace(a.bytes);
        if (record && Date.now() - written >= PROGRESS_EVERY_MS) {
          read = await updateMove(this.ctx.client, await this.fresh(mv.id), { progress: { ...progress } });
          written = Date.now();
        }
        if (a.more) continue;
        if (fence !== undefined && a.count !== a.sourceCount) {
          throw new LmjError('MOVE_FAILED', `move ${mv.id}: ${device} has ${a.count} readings on ${mv.target}, ${a.sourceCount} on ${mv.source} after the final delta`, { details: { device } });
        }
        break;
      }
      progress.devicesCopied++;
    }
    if (record) read = await updateMove(this.ctx.client, await this.fresh(mv.id), { progress: { ...progress } });
    return { read, bytes: passBytes, progress };
  }
}
