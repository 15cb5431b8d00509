/** Profile lookup: a built-in name (`env`, `power`, `gps`) or a template file path. */
import { envProfile } from './env.js';
import { gpsProfile } from './gps.js';
import { powerProfile } from './power.js';
import { loadTemplate } from './template.js';
import type { Profile } from './types.js';

export type { DeviceContext, Profile, ReadingStamp } from './types.js';
export { compileTemplate, loadTemplate } from './template.js';
export { envProfile, gpsProfile, powerProfile };

/** The built-in profiles by name. */
export const BUILTIN_PROFILES: Readonly<Record<string, Profile>> = Object.freeze({
  env: envProfile,
  power: powerProfile,
  gps: gpsProfile,
});

/** A built-in profile by name, otherwise the template file at that path. */
export function resolveProfile(nameOrFile: string): Profile {
  return BUILTIN_PROFILES[nameOrFile] ?? loadTemplate(nameOrFile);
}
