/**
 * The cluster layer (DESIGN §1, §7): the routing table and node membership in etcd.
 * Key layout and value format (keys.ts, records.ts), validated table snapshots
 * (table.ts), the cached watched view routers and nodes route with (table-view.ts),
 * table changes as compare-and-swap transactions (table-store.ts), lease-based
 * membership (membership.ts), placement (placement.ts) and the epoch check a data node
 * runs before it writes (epoch-check.ts). See docs/cluster.md.
 */
export { connectEtcd, parseEtcdUrls, clusterError, etcdCall, groupScope, scopeTo, type EtcdClientOptions } from './etcd-client.js';
export {
  FORMAT_VERSION,
  ROOT,
  TABLE_PREFIX,
  META_KEY,
  RANGES_PREFIX,
  NODES_PREFIX,
  GROUPS_PREFIX,
  LIVE_PREFIX,
  MOVES_PREFIX,
  moveKey,
  PARTITIONS,
  MEMBER_ID,
  rangeKey,
  rangeFromKey,
  nodeKey,
  liveKey,
  groupKey,
  checkMemberId,
} from './keys.js';
export {
  decodeMeta,
  decodeRange,
  decodeNode,
  decodeGroup,
  decodeLiveNode,
  encodeRecord,
  type Owner,
  type TableMeta,
  type RangeRecord,
  type NodeRecord,
  type GroupRecord,
  type LiveNodeRecord,
  type LoadFigures,
  type Capacity,
} from './records.js';
export { ClusterTable, type RangeEntry, type ClusterTableData, type RawValue } from './table.js';
export { TableView, type TableViewOptions, type TableViewStatus, type TableViewCounters } from './table-view.js';
export { MIN_PARTITIONS_PER_RANGE, initTable, readTable, readRange, commitRangeChange, setOwner, bumpEpoch, assignPartition, putGroup, type RangeRead, type RangeChange, type AssignOptions } from './table-store.js';
export { NodeRegistration, listLiveNodes, listNodes, type NodeRegistrationOptions, type RegistrationStatus } from './membership.js';
export { pickLeastLoaded, fillPercent } from './placement.js';
export { checkEpoch, parseRefusal, type RouteClaim, type RefusalDetails } from './epoch-check.js';
export { readClusterStatus, type ClusterStatus, type NodeStatus } from './cluster-status.js';
export { MOVE_PHASES, isTerminal, decodeMove, type MovePhase, type MoveRecord, type MoveProgress } from './move-record.js';
export { listMoves, readMove, requestMove, updateMove, fenceMove, flipMove, abortMove, readMoveRange, type MoveRead, type MoveRequest } from './moves.js';
export { splitRange, type SplitRequest, type SplitResult } from './split.js';
export { nodeOrigin, weighRanges, type NodeGet } from './range-weights.js';
export { BALANCE_MIN_GAP_SHARE, balanceCandidates, decideBalance, planBalance, planDrain, planRebalance, type BalanceDecision, type BalancePolicy, type BalancePlan, type PlannedMove, type PlannedSplit, type RangeWeight } from './balance.js';
