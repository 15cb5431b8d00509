export { dashboardDeps, type DaemonParts } from './deps.js';
export { registerDashboard, type Dashboard, type DashboardOptions } from './plugin.js';
export type { DashboardDeps } from './types.js';
