/** Consumer-side counters of the ingest bench: an MQTT subscriber, or the daemon's stored-readings metric. */
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A consumer-side counter: an MQTT subscriber, or the daemon's stored-readings metric. */
export interface Counter {
  count(): number;
  /** (count − first seen) / (time of last increase − time first seen), msgs/s. */
  rate(): number;
  close(): Promise<void>;
}

/**
 * Steady-state rate of a growing count: (n − first) / (last − first) over the increases
 * seen. When everything arrived within one observation (e.g. a backlog delivered at once),
 * falls back to n / (last − creation time).
 */
export function timeline(): { see(n: number): void; rate(): number; count(): number } {
  const born = performance.now();
  let first = -1;
  let firstN = 0;
  let last = 0;
  let n = 0;
  return {
    see(v: number) {
      const now = performance.now();
      if (v > n) {
        if (first < 0) [first, firstN] = [now, n];
        last = now;
        n = v;
      }
    },
    rate: () => {
      if (n === 0) return 0;
      if (last - first >= 500) return ((n - firstN) * 1000) / (last - first);
      return (n * 1000) / Math.max(1, last - born);
    },
    count: () => n,
  };
}

export async function subscriber(url: string): Promise<Counter> {
  const tl = timeline();
  let n = 0;
  const c = mqtt.connect(url, { clientId: `bench-sub-${process.pid}`, reconnectPeriod: 0 });
  await new Promise<void>((r) => c.once('connect', () => r()));
  await c.subscribeAsync('devices/+/telemetry', { qos: 1 });
  c.on('message', () => tl.see(++n));
  return { count: tl.count, rate: tl.rate, close: () => c.endAsync() };
}

export async function storedNow(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = /lmj_messages_results_total\{status="stored"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Counts readings stored from now on, once at least `already` (earlier ones, e.g. warm-up) are stored.
 * `onPoll` sees every /metrics text polled meanwhile (every 100 ms).
 */
export async function storedMetric(httpUrl: string, already: number, onPoll?: (metrics: string) => void): Promise<Counter> {
  const tl = timeline();
  let base = await storedNow(httpUrl);
  for (let i = 0; i < 100 && base < already; i++) {
    await sleep(100);
    base = await storedNow(httpUrl);
  }
  let closed = false;
  const poll = async (): Promise<void> => {
    while (!closed) {
      const text = await (await fetch(`${httpUrl}/metrics`)).text();
      onPoll?.(text);
      tl.see(Number(/lmj_messages_results_total\{status="stored"\} (\d+)/.exec(text)?.[1] ?? 0) - base);
      await sleep(100);
    }
  };
  const running = poll();
  return {
    count: tl.count,
    rate: tl.rate,
    close: async () => {
      closed = true;
      await running;
    },
  };
}

/** Waits until the counter reaches `target` or stops growing for 2 s. */
export async function settle(c: Counter, target: number): Promise<void> {
  let last = -1;
  let since = performance.now();
  while (c.count() < target && performance.now() - since < 2000) {
    if (c.count() !== last) [last, since] = [c.count(), performance.now()];
    await sleep(100);
  }
}

