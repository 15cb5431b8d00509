/**
 * Adds the firmware simulator's `sim` and `verify` commands when firmware-sim is
 * built next to this CLI (dist/firmware-sim/cli.js). Loaded dynamically so the
 * daemon still starts without it.
 */
import type { Command } from 'commander';

/** Registers `sim`/`verify` if the simulator module is present. */
export async function registerSimCommands(program: Command): Promise<void> {
  const spec = '../../firmware-sim/cli.js';
  let mod: { registerSimCommands?: (p: Command) => void };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Only the simulator itself being absent is expected; a broken simulator is an error.
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes('firmware-sim/cli.js')) return;
    throw err;
  }
  mod.registerSimCommands?.(program);
}
