/**
 * The daemon's default V8 heap settings, in a module of their own: the `start` launcher
 * (src/cli/launcher.ts) reads them before anything else of the daemon is loaded.
 */

/**
 * Default old-space limit of the daemon, MB, sized for a Pi: the ingest bounds keep live
 * data well below it (docs/daemon.md, *Memory*), and V8 collects before RSS grows past it.
 */
export const DEFAULT_HEAP_MB = 160;
/** Default semi-space size, MB: V8's 16 MB default holds more young garbage than a Pi can spare. */
export const DEFAULT_SEMI_SPACE_MB = 8;
