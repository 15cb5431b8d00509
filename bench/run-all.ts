/**
 * `npm run bench`: every benchmark that compares against a baseline measured in the
 * same run. Each section prints its own table of medians and ratios.
 * Select sections with arguments: `npm run bench -- codec core`.
 */
import { runCodecBench } from './codec.js';
import { runCoreBench } from './core.js';

const sections: Record<string, () => Promise<void>> = {
  codec: runCodecBench,
  core: runCoreBench,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in sections));
if (unknown.length > 0) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`);
  process.exit(2);
}
console.log(`# lmj-edge benchmarks (node ${process.version}, ${process.arch})`);
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  await run();
}
