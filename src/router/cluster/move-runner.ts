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
import { abortMove, fenceMove, flipMove, isTerminal, nodeOrigin, readMove, updateMove, type MoveProgress, type MoveRead, type MoveRecord, type TableView } from '../../cluster/index.js';
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
/** Devices pulled at once in the final delta (inside the fence window). */
const FINAL_PULLS_IN_FLIGHT = 8;

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
  count: number;
  sourceCount: number;
}

class Stopped extends Error {}

/** The source's listing of its devices in a range (after the fence: with its wait for the fence and the writes in flight, ms). */
interface Listed {
  devices: string[];
  fenceWait?: { viewMs: number; drainMs: number };
}

/** Drives moves; one instance per router. */
export class MoveRunner {
  /** When this driver sent the fence transaction of a move, and how long it took (the window's start). */
  private fenceStarted: { move: string; at: number; txnMs: number } | undefined;
  /** The devices the last pass of each move listed: the final delta starts pulling them before the fenced listing answers. */
  private readonly lastListed = new Map<string, string[]>();

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
      const code = e?.code === 'EPOCH_AHEAD' || e?.code === 'MOVE_CONFLICT' || e?.code === 'NODE_UNAVAILABLE' || e?.code === 'PEER_TLS' ? e.code : 'MOVE_FAILED';
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
      // A resumed move names its new driver at once (the record may still name a dead router).
      if (m.move.phase !== 'requested' && m.move.driver !== this.ctx.driver) m = await updateMove(this.ctx.client, m, { driver: this.ctx.driver });
      while (!isTerminal(m.move.phase)) m = await this.step(m);
    } catch (err) {
      if (err instanceof Stopped) return;
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
        for (let i = 0; i < MAX_CATCH_UP_PASSES; i++) {
          const r = await this.pass(read);
          read = r.read;
          if (r.bytes < SMALL_PASS_BYTES) break;
        }
        const fresh = await this.fresh(read.move.id);
        const t0 = performance.now();
        const fenced = await fenceMove(client, fresh);
        this.fenceStarted = { move: mv.id, at: t0, txnMs: performance.now() - t0 };
        return fenced;
      }
      case 'fenced':
        await this.holdAt('fenced', mv.id);
        return this.finalDelta(m);
      case 'flipped':
        await this.holdAt('flipped', mv.id);
        return updateMove(client, m, { phase: 'done' });
      default:
        return m;
    }
  }

  /**
   * Inside the fence window: the final delta (unthrottled, no progress writes), then the
   * flip, which records the final figures (its compare catches a cancel). Logs where the
   * window's time went (`move fence window`).
   */
  private async finalDelta(m: MoveRead): Promise<MoveRead> {
    if (!this.ctx.leading()) throw new Stopped();
    const mv = m.move;
    const started = this.fenceStarted?.move === mv.id ? this.fenceStarted : undefined;
    this.fenceStarted = undefined;
    const t0 = performance.now();
    const r = await this.finalPass(m, mv.fenceEpoch ?? 0);
    const t1 = performance.now();
    const flipped = await flipMove(this.ctx.client, m, { progress: r.progress });
    const t2 = performance.now();
    this.lastListed.delete(mv.id);
    const ms = (x: number): number => Math.round(x * 10) / 10;
    this.ctx.log.info(
      {
        move: mv.id,
        devices: r.progress.devicesTotal,
        // From sending the fence transaction to the flip's answer (when this driver set the fence).
        windowMs: started === undefined ? null : ms(t2 - started.at),
        fenceTxnMs: started === undefined ? null : ms(started.txnMs),
        sourceViewMs: r.fenceWait.viewMs,
        sourceDrainMs: r.fenceWait.drainMs,
        listMs: ms(r.listMs),
        pullsMs: ms(t1 - t0),
        flipTxnMs: ms(t2 - t1),
      },
      'move fence window',
    );
    return flipped;
  }

  /**
   * The final delta after the fence. The devices the last pass listed are pulled at once
   * (8 in flight) while the source lists the range after the fence; devices that only the
   * fenced listing names (created since the last pass) follow. Each pull waits on the
   * source for the fence and the writes in flight, so every device ends complete:
   * target count = source count, else MOVE_FAILED.
   */
  private async finalPass(m: MoveRead, fence: number): Promise<{ progress: MoveProgress; listMs: number; fenceWait: { viewMs: number | null; drainMs: number | null } }> {
    const mv = m.move;
    const source = this.origin(mv.source);
    const progress: MoveProgress = { ...mv.progress, devicesCopied: 0, passes: mv.progress.passes + 1 };
    const pulled = new Set<string>();
    const pullAll = async (devices: readonly string[]): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < devices.length) {
          const device = devices[next++] as string;
          pulled.add(device);
          await this.pullDevice(mv, source, device, 1 << 20, fence, async (a) => {
            progress.bytes += a.bytes;
            progress.readings += a.readings;
          });
          progress.devicesCopied++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(FINAL_PULLS_IN_FLIGHT, devices.length) }, worker));
    };
    const t0 = performance.now();
    let listMs = 0;
    const listing = this.call(mv.source, 'GET', `/cluster/v1/move/devices?from=${mv.range.from}&to=${mv.range.to}&fence=${fence}`).then((r) => {
      listMs = performance.now() - t0;
      return r as Listed;
    });
    const [listed] = await Promise.all([listing, pullAll(this.lastListed.get(mv.id) ?? [])]);
    await pullAll(listed.devices.filter((d) => !pulled.has(d)));
    progress.devicesTotal = pulled.size;
    return { progress, listMs, fenceWait: { viewMs: listed.fenceWait?.viewMs ?? null, drainMs: listed.fenceWait?.drainMs ?? null } };
  }

  /** Pulls one device chunk by chunk until the target has caught up; with `fence`, the counts must then match. */
  private async pullDevice(mv: MoveRecord, source: string, device: string, maxBytes: number, fence: number | undefined, onChunk: (a: PullAnswer) => Promise<void>): Promise<void> {
    for (;;) {
      const a = (await this.call(mv.target, 'POST', '/cluster/v1/move/pull', { move: mv.id, source, device, maxBytes, fence: fence ?? null })) as PullAnswer;
      await onChunk(a);
      if (a.more) continue;
      if (fence !== undefined && a.count !== a.sourceCount) {
        throw new LmjError('MOVE_FAILED', `move ${mv.id}: ${device} has ${a.count} readings on ${mv.target}, ${a.sourceCount} on ${mv.source} after the final delta`, { details: { device } });
      }
      return;
    }
  }

  /** One copy pass over the source's devices of the range (before the fence): each device is pulled until the target has caught up, throttled. */
  private async pass(start: MoveRead): Promise<{ read: MoveRead; bytes: number }> {
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
      await this.pullDevice(mv, source, device, chunk, undefined, async (a) => {
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
    read = await updateMove(this.ctx.client, await this.fresh(mv.id), { progress: { ...progress } });
    this.lastListed.set(mv.id, listed.devices);
    return { read, bytes: passBytes };
  }
}
