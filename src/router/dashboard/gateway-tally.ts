/**
 * Per-gateway upload figures of this router process, for the fleet page: when each
 * gateway last uploaded, how many batches and readings it sent. In memory, since the
 * process started; bounded (gateways past the cap are counted, not listed).
 */

/** One gateway as the fleet page shows it. */
export interface GatewayFigures {
  id: string;
  lastUploadAt: number;
  batches: number;
  /** Readings applied (duplicates not counted). */
  readings: number;
  /** Devices in its last batch. */
  lastBatchDevices: number;
}

/** Gateways listed at most; more than any one router is meant to serve. */
export const MAX_TRACKED_GATEWAYS = 10_000;

/** The tally the upload routes feed. */
export class GatewayTally {
  private readonly byId = new Map<string, GatewayFigures>();
  /** Uploads of gateways beyond {@link MAX_TRACKED_GATEWAYS}. */
  untracked = 0;

  /** A batch of `gateway` with `devices` device parts was answered, `readings` of it applied. */
  upload(gateway: string, devices: number, readings: number, now = Date.now()): void {
    let g = this.byId.get(gateway);
    if (g === undefined) {
      if (this.byId.size >= MAX_TRACKED_GATEWAYS) {
        this.untracked++;
        return;
      }
      g = { id: gateway, lastUploadAt: now, batches: 0, readings: 0, lastBatchDevices: 0 };
      this.byId.set(gateway, g);
    }
    g.lastUploadAt = now;
    g.batches++;
    g.readings += readings;
    g.lastBatchDevices = devices;
  }

  /** Every tracked gateway, most recent upload first. */
  list(): GatewayFigures[] {
    return [...this.byId.values()].map((g) => ({ ...g })).sort((a, b) => b.lastUploadAt - a.lastUploadAt || a.id.localeCompare(b.id));
  }
}
