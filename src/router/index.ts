/**
 * The cloud router (docs/sync.md): gateways upload CBOR batches; each device's
 * records are applied on the data node the routing table names for its partition;
 * the gateway's query API serves every device. See docs/sync.md.
 */
export { startRouter, type Router, type RouterOptions } from './server.js';
export { LocalRoutingTable, initialTable, validateTable, PARTITIONS, type RoutingTable, type RoutingTableData, type NodeInfo, type PartitionRange } from './routing-table.js';
export { DataNodes, type DataNode } from './data-nodes.js';
export { GatewayTokens } from './tokens.js';
export { routerQuerySource, type DeviceLocationView } from './query-source.js';
export { startClusterRouter, type ClusterRouter, type ClusterRouterOptions } from './cluster/cluster-router.js';
export { startDataNode, APPLY_PATH, type DataNode as ClusterDataNode, type DataNodeOptions } from './node/data-node.js';
