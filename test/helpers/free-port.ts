/** A TCP port free on 127.0.0.1 right now (for programs that cannot take port 0). */
import { createServer } from 'node:net';

/** Binds port 0, reads the port, closes; the caller binds it next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
