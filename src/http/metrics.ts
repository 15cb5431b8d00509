/**
 * The metrics registry every process starts from (prom-client, one private registry per
 * process so tests can run several in one process): the default process series and
 * `lmj_codec_info`. The gateway and the router each add only their own series, so a
 * process's /metrics never shows another's.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** A process's metrics registry with the shared base series. */
export class ProcessMetrics {
  readonly registry = new Registry();

  constructor(codecKind: string) {
    collectDefaultMetrics({ register: this.registry, prefix: 'lmj_' });
    const info = new Gauge({
      name: 'lmj_codec_info',
      help: 'Codec implementation in use (label kind = native or portable)',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    info.set({ kind: codecKind }, 1);
  }

  /** Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * A counter whose monotonic value another object keeps (a runner, a service, a guard):
 * mirrored into the registry at scrape time, so nothing is counted twice on a hot path.
 */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
