// The core of the native reading scan, shared by scanReadings (scan.cc) and
// aggregateReadings (aggregate.cc): one walk of a `readings` set range inside an
// lmdb-js read transaction, reading the wanted members of each reading from `main`.
#ifndef LMJ_SCAN_CORE_H
#define LMJ_SCAN_CORE_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include <node_api.h>

#include "lmdb.h"
#include "scan-args.h"
#include "status.h"

namespace lmj {

// Bytes of one `readings` element: ts (8, big-endian) ‖ reading pointer (17).
constexpr size_t kElementLen = 8 + kPtrLen;

inline uint32_t Be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
inline uint32_t Be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

// What one scan reads and where its rows go (row r, member i at slot r·m + i).
struct Spec {
  MDB_txn* txn;
  MDB_dbi set_dbi;
  MDB_dbi main_dbi;
  Bytes set_key, from, to;
  bool has_from, has_to;
  std::vector<Bytes> members;
  Bytes elements, kinds, nums;
};

// The arguments both entry points start with, a[0..6]: lmdb-js's transaction address,
// the set and main dbis, the set key (a set pointer, or `owner ‖ member`), the optional
// [from, to) bounds (an empty `from` is no bound) and the member names. False for a
// wrong argument or no open transaction.
bool ParseSpecHead(napi_env env, const napi_value* a, Spec* s);

// The numeric fast paths of src/query/values.ts decodeSql, byte for byte; anything
// else (text, booleans, wide integers, …) is left to the caller (false).
bool DecodeNumber(const uint8_t* b, size_t n, double* out);

// Walks the set key's duplicates in [from, to) into the output arrays, at most as many
// rows as `elements` holds; rows, or a negative status.
int64_t Run(Spec& s);

// s.set_key given as `owner ‖ member`: the set pointer that member holds, looked up in
// the same transaction, into `key` (s.set_key then points there). 0 found; 2 the owner
// does not exist (no set, nothing to read); 3 the member is absent or not a set pointer
// (the caller reports it); < 0 an LMDB failure.
int ResolveSet(Spec& s, uint8_t* key);

}  // namespace lmj

#endif
