#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import('../dist/src/cli/main.js').catch((err) => {
  console.error(`lmj-edge: cannot start: ${err && err.message ? err.message : err}`);
  console.error('lmj-edge: did you run "npm run build"?');
  process.exit(1);
});
