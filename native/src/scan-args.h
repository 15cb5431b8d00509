// Node-API argument helpers of the native reading scan (scan.cc, aggregate.cc): typed
// arrays as byte ranges, optional bounds, member-name lists. A wrong argument is a
// false return that the entry point turns into kInvalidParam, never an exception.
#ifndef LMJ_SCAN_ARGS_H
#define LMJ_SCAN_ARGS_H

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lmj {

// A borrowed byte range (of a typed array argument or of an LMDB page).
struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};

// A JavaScript number for a row count or a status.
napi_value Int(napi_env env, int64_t v);

// A typed array argument of type `want` as bytes; false for anything else.
bool BytesOf(napi_env env, napi_value v, Bytes* out, napi_typedarray_type want = napi_uint8_array);

// An optional bound: null/undefined → no bound (*present false).
bool OptionalBytes(napi_env env, napi_value v, Bytes* out, bool* present);

// An array of member names (Uint8Arrays of 1..kMaxMemberNameLen bytes).
bool ParseMembers(napi_env env, napi_value arr, std::vector<Bytes>* out);

}  // namespace lmj

#endif
