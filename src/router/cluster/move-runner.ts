/**
 * Runs one range move from its recorded phase to its end (docs/cluster.md, Moves):
 * requested → learner (the target drops stale copies) → copying (every device, bulk) →
 * catching-up (delta passes until one is small) → fenced (one etcd transaction) → final
 * delta after the fence, one call for the whole range, verified per device (target count
 * = source count) → flipped (one transaction) → done. The final delta's call goes out
 * once the last catch-up pass has pulled, before the fence's transaction, and waits on
 * the source for the fence, so the window holds neither its request hops nor the
 * fence's answer. Every phase change is a
 * compare-and-swap on the move record (src/cluster/moves.ts), so a run that lost its
 * record to a cancel, or to another driver, stops at its next step; each copy call is idempotent, so a resumed run
 * repeats at most one chunk. Copy bytes are throttled by the driver's shared
 * {@link ByteThrottle} (a move with its own rate: by that rate alone).
 */
import type { Namespace } from 'etcd3';
import { abortMove, fenceMove, flipMove, isTerminal, nodeOrigin, readMove, readMoveRange, updateMove, type MoveRead, type MoveRecord, type TableView } from '../../cluster/index.js';
import { LmjError, isLmjError } from '../../errors.js';
import type { Logger } from '../../http/logger.js';
import type { HttpPools } from './http-pools.js';
import type { MoveHold, MoveHoldPoint } from './move-hold.js';
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
  /** A testing aid: stops the run at the point its file names (move-hold.ts). */
  hold?: MoveHold;
}

/** A pull's answer (src/router/node/move-endpoints.ts). */
interface PullAnswer {
  bytes: number;
  readings: number;
  more: boolean;
}

/** The target's answer to the final delta (src/router/node/move-final.ts). */
interface FinalAnswer {
  devices: number;
  bytes: number;
  readings: number;
  rounds: number;
  fenceWait: { viewMs: number; drainMs: number };
}

/** The final delta's call, when it was sent (ms, performance.now) and the fence epoch it waits for. */
interface FinalCall {
  answer: Promise<FinalAnswer>;
  sentAt: number;
  fence: number;
}

class Stopped extends Error {}

/**
 * A data node refused a step with MOVE_CONFLICT: its table does not show it as the
 * range's learner yet (its view lags). The driver runs the move again after a backoff.
 */
export class NodeConflict extends LmjError {
  constructor(
    readonly node: string,
    message: string,
  ) {
    super('MOVE_CONFLICT', message, { details: { node } });
  }
}

/** The source's listing of its devices in a range. */
interface Listed {
  devices: string[];
}

/** Drives moves; one instance per router. */
export class MoveRunner {
  constructor(private readonly ctx: MoveRunContext) {}

  private origin(node: string): string {
    const live = this.ctx.view.liveNode(node);
    if (live === undefined) throw new LmjError('NODE_UNAVAILABLE', `data node ${node} is not live`, { details: { node } });
    // The scheme the node advertises (https with TLS); the router's --upstream-ca verifies it.
    return nodeOrigin(live);
  }

  private async call(node: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {};
    if (this.ctx.clusterToken !== undefined) headers.authorization = `Bearer ${this.ctx.clusterToken}`;
    const res = await this.ctx.http.request(this.origin(node), method, path, headers, body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    if (res.status !== 200) {
      const e = (res.json as { error?: { code?: string; message?: string } } | null)?.error;
      const message = `${node} ${path}: ${res.status} ${e?.code ?? ''}: ${e?.message ?? ''}`;
      if (e?.code === 'MOVE_CONFLICT') throw new NodeConflict(node, message);
      const code = e?.code === 'EPOCH_AHEAD' || e?.code === 'NODE_UNAVAILABLE' || e?.code === 'PEER_TLS' ? e.code : 'MOVE_FAILED';
      throw new LmjError(code, message);
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
      // A resumed move names its new driver at once (the record may still name a dead router).
      if (m.move.phase !== 'requested' && m.move.driver !== this.ctx.driver) m = await updateMove(this.ctx.client, m, { driver: this.ctx.driver });
      while (!isTerminal(m.move.phase)) m = await this.step(m);
    } catch (err) {
      if (err instanceof Stopped) return;
      // A node whose table lags: the driver backs off and runs the move again.
      if (err instanceof NodeConflict) throw err;
      if (isLmjError(err, 'MOVE_CONFLICT')) return; // someone else changed the record: the next loop re-reads
      await this.failed(id, err);
      throw err;
    }
  }

  /**
   * A step failed: before the flip with the target gone, or with a TLS handshake refused
   * (a CA that does not fit heals only by a restart with another one), roll back (the
   * source stays the owner); else note the error and let the loop retry.
   */
  private async failed(id: string, err: unknown): Promise<void> {
    const m = await readMove(this.ctx.client, id).catch(() => undefined);
    if (m === undefined || isTerminal(m.move.phase)) return;
    const error = isLmjError(err) ? { code: err.code, message: err.message } : { code: 'MOVE_FAILED', message: String(err) };
    if (m.move.phase !== 'flipped' && error.code === 'PEER_TLS') {
      this.ctx.log.warn({ move: id, error }, 'move rolled back: a TLS handshake between the move\'s participants failed');
      await abortMove(this.ctx.client, m, 'rolled-back', error).catch(() => undefined);
      return;
    }
    if (m.move.phase !== 'flipped' && this.ctx.view.liveNode(m.move.target) === undefined) {
      await abortMove(this.ctx.client, m, 'rolled-back', { code: 'MOVE_BAD_TARGET', message: `node ${m.move.target} left during the move: ${error.message}` }).catch(() => undefined);
      return;
    }
    await updateMove(this.ctx.client, m, { error }).catch(() => undefined);
  }

  /** With the testing aid only: waits while its file names `point`. */
  private async holdAt(point: MoveHoldPoint, id: string): Promise<void> {
    if (this.ctx.hold !== undefined) await this.ctx.hold.at(point, id, this.ctx.driver, this.ctx.leading);
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
        await this.holdAt('learner', mv.id);
        return updateMove(client, m, { phase: 'copying', driver: this.ctx.driver });
      case 'copying': {
        const r = await this.pass(m);
        return updateMove(client, r.read, { phase: 'catching-up' });
      }
      case 'catching-up': {
        let read = m;
        let early: FinalCall | undefined;
        for (let i = 0; i < MAX_CATCH_UP_PASSES; i++) {
          // Once the last pass has pulled, the final delta's call goes out (it waits on the source for the fence).
          const last = i === MAX_CATCH_UP_PASSES - 1;
          const r = await this.pass(read, (bytes) => (last || bytes < SMALL_PASS_BYTES ? this.earlyFinal(read.move) : Promise.resolve(undefined)));
          read = r.read;
          early = r.early;
          if (r.bytes < SMALL_PASS_BYTES) break;
        }
        return this.fence(await this.fresh(read.move.id), early);
      }
      case 'fenced':
        await this.holdAt('fenced', mv.id);
        return this.flip(m, this.finalCall(m.move, m.move.fenceEpoch ?? 0), undefined);
      case 'flipped':
        await this.holdAt('flipped', mv.id);
        return updateMove(client, m, { phase: 'done' });
      default:
        return m;
    }
  }

  /**
   * The final delta's call, sent before the fence: the fence epoch it waits for is the
   * range's epoch in this router's table + 1 (a move holds the range's epoch until its
   * fence). With the testing aid holding at `fenced`, none: the call waits for the hold.
   */
  private async earlyFinal(mv: MoveRecord): Promise<FinalCall | undefined> {
    if (this.ctx.hold !== undefined && (await this.ctx.hold.names('fenced'))) return undefined;
    const call = this.finalCall(mv, this.ctx.view.rangeOf(mv.range.from).epoch + 1);
    // Settled either way, so an unused call never surfaces as an unhandled rejection.
    call.answer.catch(() => undefined);
    return call;
  }

  /**
   * The fence's transaction, with the final delta's call (`early`) already out: the
   * source answers it only once its table shows the fence. Should the transaction set
   * another epoch than the call waits for (a lagging table, or the range changed in
   * between), the call is dropped and the `fenced` step makes it again with the recorded
   * one.
   */
  private async fence(fresh: MoveRead, early: FinalCall | undefined): Promise<MoveRead> {
    const read = await readMoveRange(this.ctx.client, fresh.move);
    const t0 = performance.now();
    const fenced = await fenceMove(this.ctx.client, fresh, read);
    const txnMs = performance.now() - t0;
    if (early === undefined || fenced.move.fenceEpoch !== early.fence) return fenced;
    return this.flip(fenced, early, { at: t0, txnMs });
  }

  /** The final delta: one call to the target for the whole range (src/router/node/move-final.ts). */
  private finalCall(mv: MoveRecord, fence: number): FinalCall {
    const sentAt = performance.now();
    const answer = (async () => {
      if (!this.ctx.leading()) throw new Stopped();
      const body = { move: mv.id, source: this.origin(mv.source), from: mv.range.from, to: mv.range.to, fence };
      return (await this.call(mv.target, 'POST', '/cluster/v1/move/final', body)) as FinalAnswer;
    })();
    return { answer, sentAt, fence };
  }

  /**
   * Inside the fence window: waits for the final delta (unthrottled, no progress writes),
   * then flips; the flip records the final figures (its compare catches a cancel). Logs
   * where the window's time went (`move fence window`); `fence` is when this driver sent
   * the fence's transaction and how long it took, when it did.
   */
  private async flip(m: MoveRead, call: FinalCall, fence: { at: number; txnMs: number } | undefined): Promise<MoveRead> {
    const mv = m.move;
    const a = await call.answer;
    const t1 = performance.now();
    const progress = { ...mv.progress, devicesCopied: a.devices, devicesTotal: a.devices, bytes: mv.progress.bytes + a.bytes, readings: mv.progress.readings + a.readings, passes: mv.progress.passes + 1 };
    const flipped = await flipMove(this.ctx.client, m, { progress });
    const t2 = performance.now();
    const ms = (x: number): number => Math.round(x * 10) / 10;
    this.ctx.log.info(
      {
        move: mv.id,
        devices: a.devices,
        rounds: a.rounds,
        // From sending the fence transaction to the flip's answer (when this driver set the fence).
        windowMs: fence === undefined ? null : ms(t2 - fence.at),
        fenceTxnMs: fence === undefined ? null : ms(fence.txnMs),
        sourceViewMs: a.fenceWait.viewMs,
        sourceDrainMs: a.fenceWait.drainMs,
        // The final delta's call, sent before the fence's transaction; and how long it ran past that transaction's answer.
        finalMs: ms(t1 - call.sentAt),
        finalAfterFenceMs: fence === undefined ? null : ms(Math.max(0, t1 - fence.at - fence.txnMs)),
        flipTxnMs: ms(t2 - t1),
      },
      'move fence window',
    );
    return flipped;
  }

  /** Pulls one device chunk by chunk until the target has caught up. */
  private async pullDevice(mv: MoveRecord, source: string, device: string, maxBytes: number, onChunk: (a: PullAnswer) => Promise<void>): Promise<void> {
    for (;;) {
      const a = (await this.call(mv.target, 'POST', '/cluster/v1/move/pull', { move: mv.id, source, device, maxBytes })) as PullAnswer;
      await onChunk(a);
      if (!a.more) return;
    }
  }

  /** One copy pass over the source's devices of the range (before the fence): each device is pulled until the target has caught up, throttled. */
  private async pass(start: MoveRead, pulled?: (bytes: number) => Promise<FinalCall | undefined>): Promise<{ read: MoveRead; bytes: number; early: FinalCall | undefined }> {
    const mv = start.move;
    const listed = (await this.call(mv.source, 'GET', `/cluster/v1/move/devices?from=${mv.range.from}&to=${mv.range.to}`)) as Listed;
    const progress = { ...mv.progress, devicesTotal: listed.devices.length, devicesCopied: 0, passes: mv.progress.passes + 1 };
    let read = await updateMove(this.ctx.client, await this.fresh(mv.id), { progress, driver: this.ctx.driver });
    let passBytes = 0;
    let held = false;
    let written = Date.now();
    const source = this.origin(mv.source);
    const throttle = mv.rateBytesPerSec === null ? this.ctx.throttle : new ByteThrottle(mv.rateBytesPerSec);
    const rate = throttle.rateBytesPerSec;
    const chunk = rate > 0 ? Math.max(16 * 1024, Math.min(1 << 20, Math.floor(rate / 4))) : 1 << 20;
    for (const device of listed.devices) {
      await this.pullDevice(mv, source, device, chunk, async (a) => {
        // The testing aid holds after the first chunk of a pass, so a partial copy exists.
        if (!held && (mv.phase === 'copying' || mv.phase === 'catching-up')) await this.holdAt(mv.phase, mv.id);
        held = true;
        passBytes += a.bytes;
        progress.bytes += a.bytes;
        progress.readings += a.readings;
        await throttle.pace(a.bytes);
        if (Date.now() - written >= PROGRESS_EVERY_MS) {
          read = await updateMove(this.ctx.client, await this.fresh(mv.id), { progress: { ...progress } });
          written = Date.now();
        }
      });
      progress.devicesCopied++;
    }
    const early = await pulled?.(passBytes);
    read = await updateMove(this.ctx.client, await this.fresh(mv.id), { progress: { ...progress } });
    return { read, bytes: passBytes, early };
  }
}
