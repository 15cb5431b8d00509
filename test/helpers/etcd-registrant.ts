/**
 * A child process that registers a data node in etcd and stays alive until killed:
 * `node --import tsx test/helpers/etcd-registrant.ts ETCD_URLS NODE_ID TTL_SECONDS`.
 * Prints `registered <lease id>` once the live record is written, and
 * `refusal <code>` when registration fails with an LmjError. Its load figure `devices`
 * grows by one per refresh, so a test can see refreshes arrive.
 */
import { NodeRegistration, connectEtcd } from '../../src/cluster/index.js';
import { isLmjError } from '../../src/errors.js';

const [urls, id, ttl] = process.argv.slice(2);
if (urls === undefined || id === undefined || ttl === undefined) throw new Error('usage: etcd-registrant URLS ID TTL');
const client = connectEtcd(urls.split(','));
let devices = 0;
try {
  const reg = await NodeRegistration.register(client, {
    id,
    address: { host: '127.0.0.1', port: 7000 },
    capacity: { devices: 100, bytes: 1_000_000 },
    load: () => ({ devices: devices++, bytes: 0, writesPerSec: 0, readsPerSec: 0 }),
    ttlSeconds: Number(ttl),
  });
  process.stdout.write(`registered ${reg.currentLeaseId}\n`);
} catch (err) {
  process.stdout.write(`refusal ${isLmjError(err) ? err.code : String(err)}\n`);
  client.close();
}
