/** Command-line options of the bench scripts: `--name value`. */

/** `--name N`, a positive number (a positive integer with `integer`), `def` when absent. */
export function numArg(name: string, def: number, integer = false): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : Number(process.argv[i + 1]);
  const ok = integer ? Number.isSafeInteger(v) : Number.isFinite(v);
  if (!ok || v <= 0) throw new Error(`--${name} needs a positive ${integer ? 'integer' : 'number'}`);
  return v;
}

/** `--name N`, a non-negative integer (0 turns a part of the bench off), `def` when absent. */
export function countArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`);
  return v;
}

/** `--name value` as given, undefined when absent; a missing value is an error naming the option. */
export function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

/** `--name a,b,c` as its non-empty words, undefined when absent. */
export function listArg(name: string): string[] | undefined {
  const v = strArg(name);
  if (v === undefined) return undefined;
  const words = v.split(',').filter((w) => w.length > 0);
  if (words.length === 0) throw new Error(`--${name} needs a comma-separated list of words`);
  return words;
}

/** `--name 0|1` as a boolean, `def` when absent. */
export function switchArg(name: string, def: boolean): boolean {
  const v = strArg(name);
  if (v === undefined) return def;
  if (v !== '0' && v !== '1') throw new Error(`--${name} needs 0 or 1`);
  return v === '1';
}
