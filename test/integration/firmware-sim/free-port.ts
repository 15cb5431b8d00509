/** A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, release it). */
import { createServer, type AddressInfo } from 'node:net';

export async function freePortForTest(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
