// Native export of readings for the uplink (see export.cc).
#ifndef LMJ_EXPORT_H
#define LMJ_EXPORT_H

#include <node_api.h>

namespace lmj {

// exportRecords(txnAddress, setDbi, mainDbi, readingsSet, after|null, limit, out, meta)
// -> records written (>= 0) or a negative status. Writes the readings after `after`
// (exclusive) of the set `readingsSet` into `out` as the batch wire format's record
// items, back to back: [element, [name, value, …]] (src/core/telemetry/record-wire.ts);
// meta (Uint32Array of 2): [0] = bytes written, meta[1] = 1 when it stopped because the next record did not fit.
napi_value ExportRecords(napi_env env, napi_callback_info info);

}  // namespace lmj

#endif
