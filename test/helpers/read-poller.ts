/**
 * A reader for end-to-end tests: reads every device (`GET /devices/{id}`) through a set
 * of routers, round robin, one request at a time, until stopped. One at a time, each
 * read starts after the previous answer came back, so no answer may show less than an
 * earlier one: a device's `readings` or `latestTs` below the highest seen so far is a
 * **stale** answer. A failed read (not 200, or no answer) through a router still in
 * the set is an **error**. A test removes a router from `urls` before it kills it: a
 * read through a router no longer in the set is not counted. A 404 before a device's
 * first reading is not counted either; after it, a 404 is stale.
 */

/** The part of `GET /devices/{id}` the poller compares. */
type DeviceAnswer = { readings?: unknown; latestTs?: unknown };

/** What the poller found, with up to 20 examples of each problem. */
export interface PollResult {
  reads: number;
  errors: number;
  stale: number;
  /** Devices answered at least once. */
  seen: number;
  examples: string[];
}

interface Best {
  readings: number;
  latestTs: number;
}

/** Reads `devices` through `urls` until {@link ReadPoller.stop}. */
export class ReadPoller {
  /** The routers to read through (`http://host:port`); change it while the poller runs. */
  readonly urls: Set<string>;
  private readonly best = new Map<string, Best>();
  private readonly result: PollResult = { reads: 0, errors: 0, stale: 0, seen: 0, examples: [] };
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly devices: readonly string[],
    urls: Iterable<string>,
  ) {
    this.urls = new Set(urls);
    this.loop = this.run();
  }

  private note(kind: 'errors' | 'stale', what: string): void {
    this.result[kind]++;
    if (this.result.examples.length < 20) this.result.examples.push(`${kind}: ${what}`);
  }

  private async readOnce(url: string, device: string): Promise<void> {
    let status: number;
    let body: DeviceAnswer | null = null;
    let refusal = '';
    try {
      const res = await fetch(`${url}/devices/${encodeURIComponent(device)}`, { signal: AbortSignal.timeout(10_000) });
      status = res.status;
      if (res.ok) body = (await res.json()) as DeviceAnswer;
      // The refusal goes into the example, so a failed test names what the read met.
      else refusal = (await res.text()).slice(0, 200);
    } catch (err) {
      if (this.urls.has(url)) this.note('errors', `${device} via ${url}: ${(err as Error).message}`);
      return;
    }
    if (!this.urls.has(url)) return;
    this.result.reads++;
    const prev = this.best.get(device);
    if (status === 404 && prev === undefined) return;
    if (status !== 200 || body === null) {
      this.note(status === 404 ? 'stale' : 'errors', `${device} via ${url}: ${status} ${refusal}`);
      return;
    }
    const now: Best = { readings: Number(body.readings), latestTs: Number(body.latestTs ?? 0) };
    if (prev !== undefined && (now.readings < prev.readings || now.latestTs < prev.latestTs)) {
      this.note('stale', `${device} via ${url}: ${now.readings} readings / latest ${now.latestTs} after ${prev.readings} / ${prev.latestTs}`);
    }
    if (prev === undefined) this.result.seen++;
    this.best.set(device, { readings: Math.max(now.readings, prev?.readings ?? 0), latestTs: Math.max(now.latestTs, prev?.latestTs ?? 0) });
  }

  private async run(): Promise<void> {
    // Each round starts one router further, so every device is read through every router.
    for (let round = 0; !this.stopped; round++) {
      for (const [i, device] of this.devices.entries()) {
        const urls = [...this.urls];
        const url = urls[(i + round) % Math.max(1, urls.length)];
        if (this.stopped) return;
        if (url === undefined) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        await this.readOnce(url, device);
      }
    }
  }

  /** Stops after the read in flight and returns the counts. */
  async stop(): Promise<PollResult> {
    this.stopped = true;
    await this.loop;
    return { ...this.result, examples: [...this.result.examples] };
  }
}
