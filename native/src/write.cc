// Native member writes (see write.h). The puts go through the MDB_txn lmdb-js holds for
// the write transaction (or child transaction) whose callback is running, read from its
// EnvWrap (lmdbjs-txn.cc), with the liblmdb sources lmdb-js is built from;
// src/core/native-write.ts checks the version strings match and that lmdb-js has a
// write transaction open before it calls here. Each put is the one lmdb-js itself would
// make for the same operation (same database, key, value and flags), in the same order,
// so the bytes on disk are the same as with one lmdb-js put per key.
//
// ops (little-endian), built by src/core/native-write.ts:
//   [0, 17)  the object's pointer
//   17       flags: bit 0 = put the zero-length existence marker in `set` first
//   [18, 22) n, the number of entries
//   then n entries: u16 name length, u32 value length (0xffffffff: no value, the name
//   is only registered: a set element), the name, the value.
// Order of the puts: the marker, every name in `set` (MDB_NODUPDATA: an existing one is
// kept), then every value in `main` under `ptr ‖ name`, entries in the given order.
#include "write.h"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "lmdb.h"
#include "lmdbjs-txn.h"
#include "status.h"

namespace lmj {
namespace {

constexpr size_t kHeader = kPtrLen + 1 + 4;
constexpr size_t kEntryHead = 2 + 4;
constexpr uint32_t kNoValue = 0xffffffffu;
// A name only registered (a set element) may be a whole key long; one with a value is a
// member name, whose `ptr ‖ name` key must fit too.
constexpr uint32_t kMaxElementLen = 511;

napi_value Int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

uint32_t Le16(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8); }
uint32_t Le32(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24); }

// An LMDB failure as the call's answer: LMDB's own codes are negative already; a
// system errno (ENOMEM, EIO, …) is returned negated.
int64_t Failure(int rc) { return rc < 0 ? rc : -static_cast<int64_t>(rc); }

// Checks that every entry lies inside ops and its name is 1..493 bytes (1..511 without a value).
bool Valid(const uint8_t* ops, size_t len, uint32_t n) {
  size_t at = kHeader;
  for (uint32_t i = 0; i < n; i++) {
    if (at + kEntryHead > len) return false;
    const uint32_t nl = Le16(ops + at);
    const uint32_t vl = Le32(ops + at + 2);
    if (nl == 0 || nl > (vl == kNoValue ? kMaxElementLen : kMaxMemberNameLen)) return false;
    const size_t vlen = vl == kNoValue ? 0 : vl;
    if (at + kEntryHead + nl + vlen > len) return false;
    at += kEntryHead + nl + vlen;
  }
  return at == len;
}

// The puts, through one cursor per database: mdb_put is mdb_cursor_put on a fresh
// cursor, and a cursor already on the right leaf page skips the descent from the root
// (the names share one key; the values' keys ascend). Same puts, same tree.
int64_t Puts(MDB_cursor* sc, MDB_cursor* mc, const uint8_t* ops, uint32_t n) {
  uint8_t* ptr = const_cast<uint8_t*>(ops);
  MDB_val k{kPtrLen, ptr};
  if (ops[kPtrLen] & 1) {
    MDB_val marker{0, nullptr};
    const int rc = mdb_cursor_put(sc, &k, &marker, 0);
    if (rc != MDB_SUCCESS) return Failure(rc);
  }
  int64_t added = 0;
  size_t at = kHeader;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t nl = Le16(ops + at);
    const uint32_t vl = Le32(ops + at + 2);
    MDB_val key{kPtrLen, ptr};
    MDB_val name{nl, ptr + at + kEntryHead};
    const int rc = mdb_cursor_put(sc, &key, &name, MDB_NODUPDATA);
    if (rc == MDB_SUCCESS) added++;
    else if (rc != MDB_KEYEXIST) return Failure(rc);
    at += kEntryHead + nl + (vl == kNoValue ? 0 : vl);
  }
  uint8_t key[kPtrLen + kMaxMemberNameLen];
  std::memcpy(key, ops, kPtrLen);
  at = kHeader;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t nl = Le16(ops + at);
    const uint32_t vl = Le32(ops + at + 2);
    const uint8_t* name = ops + at + kEntryHead;
    at += kEntryHead + nl;
    if (vl == kNoValue) continue;
    std::memcpy(key + kPtrLen, name, nl);
    MDB_val mk{kPtrLen + nl, key};
    MDB_val mv{vl, ptr + at};
    const int rc = mdb_cursor_put(mc, &mk, &mv, 0);
    if (rc != MDB_SUCCESS) return Failure(rc);
    at += vl;
  }
  return added;
}

int64_t Run(MDB_txn* txn, MDB_dbi set_dbi, MDB_dbi main_dbi, const uint8_t* ops, size_t len) {
  const uint32_t n = Le32(ops + kPtrLen + 1);
  if (!Valid(ops, len, n)) return kInvalidParam;
  MDB_cursor* sc = nullptr;
  MDB_cursor* mc = nullptr;
  int rc = mdb_cursor_open(txn, set_dbi, &sc);
  if (rc != MDB_SUCCESS) return Failure(rc);
  rc = mdb_cursor_open(txn, main_dbi, &mc);
  if (rc != MDB_SUCCESS) {
    mdb_cursor_close(sc);
    return Failure(rc);
  }
  const int64_t out = Puts(sc, mc, ops, n);
  mdb_cursor_close(mc);
  mdb_cursor_close(sc);
  return out;
}

}  // namespace

napi_value WriteMembers(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < 5) return Int(env, kInvalidParam);
  int64_t env_address = 0;
  uint32_t set_dbi = 0, main_dbi = 0, len = 0;
  if (napi_get_value_int64(env, a[0], &env_address) != napi_ok || napi_get_value_uint32(env, a[1], &set_dbi) != napi_ok ||
      napi_get_value_uint32(env, a[2], &main_dbi) != napi_ok || napi_get_value_uint32(env, a[4], &len) != napi_ok) {
    return Int(env, kInvalidParam);
  }
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, a[3], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, a[3], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array ||
      len > length || len < kHeader) {
    return Int(env, kInvalidParam);
  }
  MDB_txn* txn = LmdbJsWriteTxn(env_address);
  if (txn == nullptr) return Int(env, kNoWriteTxn);
  return Int(env, Run(txn, set_dbi, main_dbi, static_cast<const uint8_t*>(data), len));
}

napi_value LmdbError(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  int32_t rc = 0;
  napi_value out;
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < 1 || napi_get_value_int32(env, a[0], &rc) != napi_ok) {
    rc = EINVAL;
  }
  napi_create_string_utf8(env, mdb_strerror(rc), NAPI_AUTO_LENGTH, &out);
  return out;
}

}  // namespace lmj
