/**
 * The read gate's turn budget on a real loopback socket: a sender writes 4 MiB at once;
 * without a budget libuv hands the reader up to 32 reads of 64 KiB in one poll callback,
 * with one the reader takes about one read per turn past the budget, and still gets
 * every byte.
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ReadGate } from '../../../../src/gateway/broker/read-gate.js';

const TOTAL = 4 * 1024 * 1024;
/** Bytes of one pretend message. */
const MSG = 100;

/** Reads TOTAL bytes through `gate` (one enter per MSG bytes); returns the most bytes read in one event-loop turn. */
async function maxBytesPerTurn(gate: ReadGate | undefined): Promise<{ maxTurn: number; total: number }> {
  const server = createServer((s) => {
    s.end(Buffer.alloc(TOTAL, 1));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket: Socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  gate?.attach(socket);
  let total = 0;
  let turn = 0;
  let armed = false;
  let maxTurn = 0;
  // Let the whole payload reach the kernel's receive buffer before reading, where it can.
  socket.pause();
  await once(socket, 'connect');
  await new Promise((r) => setTimeout(r, 50));
  socket.on('data', (buf: Buffer) => {
    if (!armed) {
      armed = true;
      setImmediate(() => {
        armed = false;
        turn = 0;
      });
    }
    total += buf.length;
    turn += buf.length;
    maxTurn = Math.max(maxTurn, turn);
    for (let i = 0; i < Math.floor(buf.length / MSG); i++) {
      gate?.enter();
      gate?.leave();
    }
    gate?.chunkDone();
  });
  socket.resume();
  await once(socket, 'end');
  socket.destroy();
  server.close();
  return { maxTurn, total };
}

describe('ReadGate turn budget', () => {
  it('reads about one chunk per turn past the budget, and every byte arrives', async () => {
    const gated = await maxBytesPerTurn(new ReadGate(1_000_000, () => undefined, 10));
    expect(gated.total).toBe(TOTAL);
    expect(gated.maxTurn).toBeLessThanOrEqual(2 * 65536);
    // The same socket read without the gate: several reads in one turn (measured 195,584 to 1,220,149 bytes).
    const free = await maxBytesPerTurn(undefined);
    expect(free.total).toBe(TOTAL);
    expect(free.maxTurn).toBeGreaterThan(gated.maxTurn);
  });
});
