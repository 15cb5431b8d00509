// The native reading scan: one call walks a device's `readings` set range inside an
// lmdb-js read transaction and reads the wanted members of each reading, decoding the
// numeric CBOR scalars into columns (docs/query.md, Native scan).
#ifndef LMJ_SCAN_H
#define LMJ_SCAN_H

#include <node_api.h>

namespace lmj {

// scanReadings(txnAddress, setDbi, mainDbi, setKey | owner ‖ member, from|null, to|null,
//              members[], elements, kinds, nums, resolved) -> rows (>= 0) or a negative
// status. Given `owner ‖ member`, the set pointer that member holds is read in the same
// transaction and written to `resolved` (17 bytes); no such owner → 0 rows; the member
// absent or not a set pointer → kStoreCorrupt.
napi_value ScanReadings(napi_env env, napi_callback_info info);

// aggregateReadings(…) -> count/sum/min/max per group of one device's readings (aggregate.cc).
napi_value AggregateReadings(napi_env env, napi_callback_info info);

// lmdbVersion() -> the version string of the liblmdb compiled into the addon.
napi_value LmdbVersion(napi_env env, napi_callback_info info);

}  // namespace lmj

#endif
