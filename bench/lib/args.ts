/** Command-line options of the bench scripts: `--name value`. */

/** `--name N`, a positive number (a positive integer with `integer`), `def` when absent. */
export function numArg(name: string, def: number, integer = false): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : Number(process.argv[i + 1]);
  const ok = integer ? Number.isSafeInteger(v) : Number.isFinite(v);
  if (!ok || v <= 0) throw new Error(`--${name} needs a positive ${integer ? 'integer' : 'number'}`);
  return v;
}

/** `--name value` as given, undefined when absent. */
export function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
