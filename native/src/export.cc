// Native export of readings (export.h): the uplink's read of a device's backlog, which
// in TypeScript cost one lmdb-js call and one fresh Buffer per name and per value of
// every reading (and the garbage of them) before the batch encoder copied them again.
// Reads through lmdb-js's own read transaction (lmdbjs-txn.cc), as the reading scan
// does, and writes each reading straight as the record item the batch carries, with the
// bytes the TypeScript export reads: the `readings` elements of 25 bytes after `after`
// in set order, and per reading its names from `set` in their order (the zero-length
// existence marker skipped) with the value of each from `main` (a name without a value
// is left out, as `objGet` leaves it out of its members).
#include "export.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "lmdb.h"
#include "lmdbjs-txn.h"
#include "scan-args.h"
#include "status.h"

namespace lmj {
namespace {

constexpr size_t kElementLen = 8 + kPtrLen;
constexpr size_t kArgs = 8;

size_t HeadLen(size_t n) { return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000ull ? 5 : 9; }

uint8_t* Head(uint8_t* at, uint8_t major, size_t n) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (n < 24) {
    *at++ = static_cast<uint8_t>(m | n);
  } else if (n < 0x100) {
    *at++ = m | 24;
    *at++ = static_cast<uint8_t>(n);
  } else if (n < 0x10000) {
    *at++ = m | 25;
    *at++ = static_cast<uint8_t>(n >> 8);
    *at++ = static_cast<uint8_t>(n);
  } else {
    *at++ = m | 26;
    for (int s = 24; s >= 0; s -= 8) *at++ = static_cast<uint8_t>(n >> s);
  }
  return at;
}

uint8_t* Bytes2(uint8_t* at, const MDB_val& v) {
  at = Head(at, 2, v.mv_size);
  if (v.mv_size > 0) std::memcpy(at, v.mv_data, v.mv_size);
  return at + v.mv_size;
}

struct Out {
  uint8_t* data;
  size_t cap;
  size_t len = 0;
  bool full = false;
};

// One reading's record item; false (nothing written, out.full) when it does not fit.
int WriteRecord(MDB_txn* txn, MDB_dbi main_dbi, MDB_cursor* names, const MDB_val& element, std::vector<MDB_val>* pairs, Out* out) {
  const uint8_t* ptr = static_cast<const uint8_t*>(element.mv_data) + 8;
  pairs->clear();
  MDB_val k{kPtrLen, const_cast<uint8_t*>(ptr)};
  MDB_val name;
  int rc = mdb_cursor_get(names, &k, &name, MDB_SET_KEY);
  uint8_t key[kPtrLen + kMaxMemberNameLen];
  std::memcpy(key, ptr, kPtrLen);
  while (rc == MDB_SUCCESS) {
    if (name.mv_size > 0 && name.mv_size <= kMaxMemberNameLen) {
      std::memcpy(key + kPtrLen, name.mv_data, name.mv_size);
      MDB_val mk{kPtrLen + name.mv_size, key};
      MDB_val value;
      const int got = mdb_get(txn, main_dbi, &mk, &value);
      if (got == MDB_SUCCESS) {
        pairs->push_back(name);
        pairs->push_back(value);
      } else if (got != MDB_NOTFOUND) {
        return got;
      }
    }
    rc = mdb_cursor_get(names, &k, &name, MDB_NEXT_DUP);
  }
  if (rc != MDB_NOTFOUND) return rc;
  size_t need = 1 + HeadLen(kElementLen) + kElementLen + HeadLen(pairs->size());
  for (const MDB_val& v : *pairs) need += HeadLen(v.mv_size) + v.mv_size;
  if (out->len + need > out->cap) {
    out->full = true;
    return MDB_SUCCESS;
  }
  uint8_t* at = out->data + out->len;
  *at++ = 0x82;
  at = Bytes2(at, element);
  at = Head(at, 4, pairs->size());
  for (const MDB_val& v : *pairs) at = Bytes2(at, v);
  out->len += need;
  return MDB_SUCCESS;
}

int64_t Run(MDB_txn* txn, MDB_dbi set_dbi, MDB_dbi main_dbi, const Bytes& set, const Bytes* after, uint32_t limit, Out* out) {
  MDB_cursor* elements = nullptr;
  MDB_cursor* names = nullptr;
  if (mdb_cursor_open(txn, set_dbi, &elements) != MDB_SUCCESS) return kScanFailed;
  if (mdb_cursor_open(txn, set_dbi, &names) != MDB_SUCCESS) {
    mdb_cursor_close(elements);
    return kScanFailed;
  }
  MDB_val k{kPtrLen, set.data};
  MDB_val d{0, nullptr};
  std::vector<uint8_t> from;
  int rc;
  if (after != nullptr) {
    // The smallest element above `after`: after ‖ 0x00.
    from.assign(after->data, after->data + after->len);
    from.push_back(0);
    d = MDB_val{from.size(), from.data()};
    rc = mdb_cursor_get(elements, &k, &d, MDB_GET_BOTH_RANGE);
  } else {
    rc = mdb_cursor_get(elements, &k, &d, MDB_SET_KEY);
  }
  std::vector<MDB_val> pairs;
  int64_t count = 0;
  while (rc == MDB_SUCCESS && count < limit) {
    if (d.mv_size == kElementLen && static_cast<const uint8_t*>(d.mv_data)[8] == 0x01) {
      rc = WriteRecord(txn, main_dbi, names, d, &pairs, out);
      if (rc != MDB_SUCCESS || out->full) break;
      count++;
    }
    rc = mdb_cursor_get(elements, &k, &d, MDB_NEXT_DUP);
  }
  mdb_cursor_close(names);
  mdb_cursor_close(elements);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return kScanFailed;
  return count;
}

}  // namespace

napi_value ExportRecords(napi_env env, napi_callback_info info) {
  size_t argc = kArgs;
  napi_value a[kArgs];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < kArgs) return Int(env, kInvalidParam);
  int64_t txn_address = 0;
  uint32_t set_dbi = 0, main_dbi = 0, limit = 0;
  Bytes set, after, out, meta;
  bool has_after = false;
  if (napi_get_value_int64(env, a[0], &txn_address) != napi_ok || napi_get_value_uint32(env, a[1], &set_dbi) != napi_ok ||
      napi_get_value_uint32(env, a[2], &main_dbi) != napi_ok || !BytesOf(env, a[3], &set) || set.len != kPtrLen ||
      !OptionalBytes(env, a[4], &after, &has_after) || napi_get_value_uint32(env, a[5], &limit) != napi_ok || !BytesOf(env, a[6], &out) ||
      !BytesOf(env, a[7], &meta, napi_uint32_array) || meta.len < 2 || (has_after && after.len > kPtrLen + kMaxMemberNameLen)) {
    return Int(env, kInvalidParam);
  }
  MDB_txn* txn = LmdbJsTxn(txn_address);
  if (txn == nullptr) return Int(env, kInvalidParam);
  Out o{out.data, out.len};
  const int64_t n = Run(txn, set_dbi, main_dbi, set, has_after ? &after : nullptr, limit, &o);
  uint32_t* m = reinterpret_cast<uint32_t*>(meta.data);
  m[0] = static_cast<uint32_t>(o.len);
  m[1] = o.full ? 1 : 0;
  return Int(env, n);
}

}  // namespace lmj
