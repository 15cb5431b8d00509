#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
// The libuv threadpool runs every device fsync; size it before the pool starts
// (src/cli/threadpool.ts does the same for direct runs of dist/src/cli/main.js).
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '64';
// `start` re-executes Node with the daemon's heap flags before the CLI is loaded: the
// launcher process that stays alive beside the daemon then holds only what Node itself
// does (src/cli/launcher.ts).
import('../dist/src/cli/launcher.js')
  .then(({ launchFromArgv }) => launchFromArgv() || import('../dist/src/cli/main.js'))
  .catch((err) => {
    console.error(`lmj-edge: cannot start: ${err && err.message ? err.message : err}`);
    console.error('lmj-edge: did you run "npm run build"?');
    process.exit(1);
  });
