/**
 * The simulation: a fleet of devices, their MQTT links, the publication schedule, fault
 * injection, the ledger and the statistics. `runSim(options)` runs one to completion;
 * `new Simulation(options)` does the same and emits progress events while it runs.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BAD_KINDS, makeBadPublication, type BadKind } from './bad-payloads.js';
import { encodeDocument } from './encode.js';
import { payloadIdentity } from './identity.js';
import { LatencyHistogram } from './latency.js';
import { LedgerWriter } from './ledger.js';
import { Link, type Outgoing } from './link.js';
import { resolveSimOptions, type ResolvedSimOptions, type SimOptions } from './options.js';
import { resolveProfile, type DeviceContext, type Profile } from './profiles/index.js';
import { createRng, type Rng } from './rng.js';
import { createSchedule } from './schedule.js';
import type { SimEvents, SimProgress, SimSummary } from './sim-types.js';

export type { SimEvents, SimProgress, SimSummary } from './sim-types.js';

interface SimDevice extends DeviceContext {
  seq: number;
  boot: number;
  skewMs: number;
  link: Link;
}

/** A simulated fleet run. Listen for events, then `await run()`. */
export class Simulation extends EventEmitter<SimEvents> {
  readonly options: ResolvedSimOptions;
  private readonly profile: Profile;
  private readonly rng: Rng;
  private readonly devices: SimDevice[] = [];
  private readonly links: Link[] = [];
  private readonly mode: 'per-device' | 'pool';
  private readonly latency = new LatencyHistogram();
  private firstAck = 0;
  private lastAck = 0;
  private ledger: LedgerWriter | undefined;
  private generating = false;
  /** performance.now() at which generating and sending stop (the end of `--duration`). */
  private deadline = Number.POSITIVE_INFINITY;
  private generated = 0;
  private stopGen: () => void = () => undefined;
  private readonly c = {
    published: 0,
    acked: 0,
    dropped: 0,
    reboots: 0,
    errors: 0,
    connected: 0,
    badPublished: 0,
    badAcked: 0,
    badLost: 0,
  };
  private readonly badByKind = Object.fromEntries(BAD_KINDS.map((k) => [k, 0])) as Record<BadKind, number>;

  /** Validates options (BAD_CONFIG) and builds the fleet; nothing connects before `run()`. */
  constructor(options: SimOptions) {
    super();
    const o = resolveSimOptions(options);
    this.options = o;
    this.profile = typeof o.profile === 'string' ? resolveProfile(o.profile) : o.profile;
    this.rng = createRng(o.seed);
    this.mode = o.connectionMode === 'pool' || (o.connectionMode === 'auto' && o.devices > o.maxConnections) ? 'pool' : 'per-device';
    const nLinks = this.mode === 'pool' ? Math.min(o.maxConnections, o.devices) : o.devices;
    const perLink = Math.ceil(o.devices / nLinks);
    const runTag = randomBytes(3).toString('hex');
    const width = String(o.devices - 1).length;
    for (let l = 0; l < nLinks; l++) {
      const firstId = `${o.devicePrefix}${String(l).padStart(width, '0')}`;
      this.links.push(
        new Link({
          url: o.broker,
          clientId: this.mode === 'pool' ? `${o.devicePrefix}pool-${runTag}-${l}` : firstId,
          username: o.username,
          password: o.password,
          inflight: o.inflight,
          bufferLimit: o.bufferPerDevice * perLink,
          backoffMinMs: o.backoffMinMs,
          backoffMaxMs: o.backoffMaxMs,
          connectTimeoutMs: o.connectTimeoutMs,
          keepaliveS: o.keepaliveS,
          rng: this.rng.fork(1_000_000 + l),
          hooks: this.linkHooks(this.mode === 'pool' ? `pool-${l}` : firstId),
          ...(o.rate === 0 ? { source: this.pullSource(l, nLinks) } : {}),
        }),
      );
    }
    for (let i = 0; i < o.devices; i++) {
      const rng = this.rng.fork(i);
      this.devices.push({
        id: `${o.devicePrefix}${String(i).padStart(width, '0')}`,
        index: i,
        rng,
        walks: new Map(),
        seq: 0,
        boot: o.boot,
        skewMs: o.skewMs === 0 ? 0 : Math.round(rng.uniform(-o.skewMs, o.skewMs)),
        link: this.links[i % nLinks]!,
      });
    }
  }

  /** Stops generating now; `run()` then drains and resolves as usual. */
  stop(): void {
    this.stopGen();
  }

  /** Connects, publishes per the schedule, drains, closes; resolves with the summary. */
  async run(): Promise<SimSummary> {
    const o = this.options;
    this.ledger = o.ledger === undefined ? undefined : new LedgerWriter(o.ledger, o.ledgerFlushMs);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let lastAcked = 0;
    let lastT = t0;
    const progress = setInterval(() => {
      const now = performance.now();
      this.emit('progress', this.progress(t0, (this.c.acked - lastAcked) / ((now - lastT) / 1000)));
      lastAcked = this.c.acked;
      lastT = now;
    }, o.progressMs);
    let genEnd = t0;
    let haltTimer: NodeJS.Timeout | undefined;
    try {
      for (const l of this.links) l.start();
      await this.generate(t0);
      genEnd = performance.now();
      // The deadline is hard: nothing is sent after it (a run that ended earlier, by its
      // count or stop(), still sends its buffer until then), the drain only waits for acks.
      const halt = (): void => {
        for (const l of this.links) l.halt();
      };
      if (genEnd >= this.deadline) halt();
      else if (Number.isFinite(this.deadline)) haltTimer = setTimeout(halt, this.deadline - genEnd);
      await this.drain(o.drainTimeoutMs);
    } finally {
      clearInterval(progress);
      clearTimeout(haltTimer);
      // QoS 0 data still in a socket buffer that the broker does not read (back-pressure)
      // would hold a graceful DISCONNECT behind it: at most once means it may go.
      await Promise.all(this.links.map((l) => l.close(o.qos === 0 && l.halted)));
      this.ledger?.close();
    }
    const cpu = process.cpuUsage(cpu0);
    return this.summary(t0, genEnd, (cpu.user + cpu.system) / 1e6);
  }

  private linkHooks(name: string): ConstructorParameters<typeof Link>[0]['hooks'] {
    return {
      ack: (msg, latencyMs) => this.onAck(msg, latencyMs),
      drop: (msg, reason) => {
        if (msg.reading !== undefined) this.c.dropped++;
        else if (reason === 'connection-lost' || reason === 'buffer-full') this.c.badLost++;
      },
      error: (err) => {
        this.c.errors++;
        if (this.listenerCount('error') > 0) this.emit('error', err);
      },
      connect: (reconnect) => {
        this.c.connected++;
        this.emit('connect', { clientId: name, reconnect });
      },
      disconnect: (retryInMs) => {
        this.c.connected = Math.max(0, this.c.connected - 1);
        this.emit('disconnect', { clientId: name, retryInMs });
      },
    };
  }

  private onAck(msg: Outgoing, latencyMs: number): void {
    if (msg.reading === undefined) {
      this.c.badAcked++;
      return;
    }
    this.c.acked++;
    this.lastAck = performance.now();
    if (this.firstAck === 0) this.firstAck = this.lastAck;
    if (msg.qos === 1) {
      this.latency.record(latencyMs);
      this.ledger?.append({
        device: msg.reading.device,
        seq: msg.reading.seq,
        boot: msg.reading.boot,
        id: payloadIdentity(msg.payload).toString('hex'),
        ackedAt: Date.now(),
      });
    }
  }

  private limitReached(): boolean {
    // The clock too, not only the timer: a link whose socket takes every write at once
    // pulls and sends synchronously, and the timer would fire only after that loop.
    return (
      !this.generating ||
      (this.options.count !== undefined && this.generated >= this.options.count) ||
      performance.now() >= this.deadline
    );
  }

  /** The next publications of one device for one schedule slot (several for a burst). */
  private produce(d: SimDevice): Outgoing[] {
    const o = this.options;
    const n = this.profile.burst?.(d) ?? 1;
    const out: Outgoing[] = [];
    for (let i = 0; i < n && !this.limitReached(); i++) {
      this.generated++;
      out.push(this.rng.chance(o.bad) ? this.badOne(d) : this.goodOne(d));
    }
    return out;
  }

  private topicFor = (id: string): string => this.options.topic.replace('{deviceId}', id);

  private goodOne(d: SimDevice): Outgoing {
    const o = this.options;
    if (o.rebootProbability > 0 && d.seq > 0 && d.rng.chance(o.rebootProbability)) {
      d.boot++;
      d.seq = 0;
      this.c.reboots++;
      this.emit('reboot', { device: d.id, boot: d.boot });
    }
    const stamp = { seq: d.seq++, boot: d.boot, ts: Date.now() + d.skewMs };
    const payload = encodeDocument(this.profile.reading(d, stamp), o.format);
    this.c.published++;
    return { topic: this.topicFor(d.id), payload, qos: o.qos, reading: { device: d.id, seq: stamp.seq, boot: stamp.boot }, sentAt: 0, sends: 0 };
  }

  private badOne(d: SimDevice): Outgoing {
    const kind = this.rng.pick(BAD_KINDS);
    const doc = this.profile.reading(d, { seq: d.seq, boot: d.boot, ts: Date.now() + d.skewMs });
    const b = makeBadPublication(kind, d.id, doc, this.topicFor, this.rng);
    this.c.badPublished++;
    this.badByKind[kind]++;
    return { topic: b.topic, payload: b.payload, qos: this.options.qos, bad: kind, sentAt: 0, sends: 0 };
  }

  /** Unlimited rate: each link pulls the next publication of its devices, round robin. */
  private pullSource(link: number, nLinks: number): () => Outgoing | undefined {
    let next = link;
    const pending: Outgoing[] = [];
    return () => {
      if (pending.length === 0) {
        if (this.limitReached() || this.devices.length === 0) {
          this.stopGen();
          return undefined;
        }
        const d = this.devices[next]!;
        next += nLinks;
        if (next >= this.devices.length) next = link;
        pending.push(...this.produce(d));
        if (this.limitReached()) this.stopGen();
      }
      return pending.shift();
    };
  }

  private generate(t0: number): Promise<void> {
    const o = this.options;
    this.generating = true;
    const durationMs = o.durationS === undefined ? Number.POSITIVE_INFINITY : o.durationS * 1000;
    this.deadline = t0 + durationMs;
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => this.stopGen();
      this.stopGen = () => {
        if (!this.generating) return;
        this.generating = false;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (o.signal?.aborted) return this.stopGen();
      o.signal?.addEventListener('abort', onAbort);
      if (o.rate === 0) {
        if (Number.isFinite(durationMs)) timer = setTimeout(() => this.stopGen(), durationMs);
        for (const l of this.links) l.pump();
        return;
      }
      const schedule = createSchedule({
        devices: o.devices,
        totalRate: o.ratePerDevice ? o.rate * o.devices : o.rate,
        spreadMs: o.spreadMs,
        rng: this.rng.fork(999_999),
      });
      const tick = (): void => {
        const elapsed = performance.now() - t0;
        // Slots at or after the end of the run are not generated.
        for (const slot of schedule.take(Math.min(elapsed, durationMs - 1e-6))) {
          const d = this.devices[slot.device]!;
          for (const m of this.produce(d)) d.link.enqueue(m);
          if (this.limitReached()) break;
        }
        if (this.limitReached() || elapsed >= durationMs) return this.stopGen();
        const wait = Math.min(schedule.nextAtMs(), durationMs) - (performance.now() - t0);
        // Wake at the next slot; never spin, and batch slots that are closer than 2 ms.
        timer = setTimeout(tick, Math.max(2, Math.min(wait, 1000)));
      };
      tick();
    });
  }

  /** Before the deadline: sending or awaiting acks. After it: awaiting QoS 1 acks (QoS 0 has none). */
  private busy(l: Link): boolean {
    if (!l.halted) return !l.idle;
    return this.options.qos === 1 && l.inflight > 0;
  }

  /** Waits, at most `timeoutMs`, until no link is {@link busy}. */
  private async drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && this.links.some((l) => this.busy(l))) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private progress(t0: number, ackRate: number): SimProgress {
    let inflight = 0;
    let queued = 0;
    let reconnects = 0;
    for (const l of this.links) {
      inflight += l.inflight;
      queued += l.queued;
      reconnects += l.reconnects;
    }
    return {
      elapsedS: (performance.now() - t0) / 1000,
      published: this.c.published,
      acked: this.c.acked,
      ackRate: Number.isFinite(ackRate) ? ackRate : 0,
      inflight,
      queued,
      dropped: this.c.dropped,
      errors: this.c.errors,
      reconnects,
      connected: this.c.connected,
      bad: this.c.badPublished,
    };
  }

  private summary(t0: number, genEnd: number, cpuS: number): SimSummary {
    const o = this.options;
    const end = performance.now();
    const elapsedS = (end - t0) / 1000;
    const generateS = (genEnd - t0) / 1000;
    const r = (v: number): number => Math.round(v * 100) / 100;
    return {
      devices: o.devices,
      connections: this.links.length,
      connectionMode: this.mode,
      qos: o.qos,
      format: o.format,
      profile: this.profile.name,
      seed: o.seed,
      bootBase: o.boot,
      elapsedS: r(elapsedS),
      generateS: r(generateS),
      rate: {
        target: o.rate === 0 ? 'unlimited' : o.ratePerDevice ? o.rate * o.devices : o.rate,
        published: r(this.c.published / Math.max(generateS, 1e-3)),
        acked: r(this.c.acked / Math.max(elapsedS, 1e-3)),
      },
      published: this.c.published,
      acked: this.c.acked,
      resent: this.links.reduce((a, l) => a + l.resent, 0),
      dropped: this.c.dropped,
      unacked: this.c.published - this.c.acked - this.c.dropped,
      unsent: this.links.reduce((a, l) => a + l.queued, 0),
      reboots: this.c.reboots,
      reconnects: this.links.reduce((a, l) => a + l.reconnects, 0),
      errors: this.c.errors,
      bad: { published: this.c.badPublished, acked: this.c.badAcked, lost: this.c.badLost, byKind: { ...this.badByKind } },
      ledger: this.ledger === undefined ? null : { file: this.ledger.file, lines: this.ledger.written },
      latencyMs: this.latency.summary(),
      ackSpanS: Math.round(((this.lastAck - this.firstAck) / 1000) * 1000) / 1000,
      cpuS: Math.round(cpuS * 1000) / 1000,
    };
  }
}

/** Runs one simulation to completion. */
export async function runSim(options: SimOptions, onProgress?: (p: SimProgress) => void): Promise<SimSummary> {
  const sim = new Simulation(options);
  if (onProgress !== undefined) sim.on('progress', onProgress);
  return sim.run();
}
