/** Daemon configuration: schema, defaults and the layered loader. */
export { defaultConfig, defaultDataDir, SETTINGS, type GatewayConfig, type Setting } from './schema.js';
export { loadConfig, type ConfigSources } from './load.js';
export { syncOptionsOf } from './sync.js';
export { retentionSettingsOf } from './retention.js';
