/**
 * SQL over LMJCore (docs/query.md): telemetry views `readings`, `latest`, `devices`
 * and user pseudo-tables, parsed by node-sql-parser, planned into instance choices
 * and cursor ranges, aggregated while scanning.
 */
export * from './types.js';
export { runQuery, prepareQuery, type PreparedQuery } from './run.js';
export {
  mergePartials, mergeState, newState, step, finalValue, type AggState, type PartialGroup, type PartialResult,
} from './aggregate.js';
export { dataDirSource, type DataDirSource } from './data-dir-source.js';
export { formatResult, type OutputFormat } from './format.js';
export { registerQueryRoute, type QueryAnswer, type ExecuteQuery, type FailedNode, type QueryRouteOptions } from './http-route.js';
export { QueryMetrics } from './http-metrics.js';
