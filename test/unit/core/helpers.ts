/** Small shared helpers for the core engine tests. */
import { isLmjError } from '../../../src/errors.js';

/** The LmjError code `fn` throws, `undefined` when it does not throw. */
export function errCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isLmjError(e) ? e.code : `not an LmjError: ${String(e)}`;
  }
  return undefined;
}

/** The LmjError code a promise rejects with, `undefined` when it resolves. */
export async function rejectCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isLmjError(e) ? e.code : `not an LmjError: ${String(e)}`;
  }
  return undefined;
}
