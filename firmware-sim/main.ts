#!/usr/bin/env node
/** Standalone entry: `node dist/firmware-sim/main.js sim|verify …` (same commands as `lmj-edge sim|verify`). */
import { Command } from 'commander';
import { registerSimCommands } from './cli.js';

const program = new Command('firmware-sim').description('simulated sensor fleets for lmj-edge');
registerSimCommands(program);
await program.parseAsync(process.argv);
