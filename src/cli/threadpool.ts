/**
 * Side-effect module, imported first by src/cli/main.ts (and mirrored in
 * bin/lmj-edge.js): raises the libuv threadpool before anything uses it.
 *
 * Why: every durable device commit ends with an fdatasync run on the threadpool
 * (src/core/store.ts), and fs/crypto/zlib share the same pool. The default of 4
 * threads lets at most 4 devices' fsyncs proceed at once; 64 lets a commit round over
 * many devices sync in parallel. libuv reads UV_THREADPOOL_SIZE once, when the pool
 * starts (the first queued work), so this must run before any fs/crypto/lmdb call.
 * An explicit UV_THREADPOOL_SIZE in the environment wins.
 */

/** The pool size used when UV_THREADPOOL_SIZE is not set. */
export const DEFAULT_THREADPOOL_SIZE = 64;

if (process.env['UV_THREADPOOL_SIZE'] === undefined || process.env['UV_THREADPOOL_SIZE'] === '') {
  process.env['UV_THREADPOOL_SIZE'] = String(DEFAULT_THREADPOOL_SIZE);
}
