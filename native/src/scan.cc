// Native reading scan (see scan.h, scan-core.h). Reads pages of an environment that
// lmdb-js opened, through lmdb-js's own MDB_txn (never a second mdb_env_open in the
// process), with the same liblmdb sources lmdb-js was built from;
// src/core/reading-columns.ts checks the version strings match before it calls here.
//
// Output, per row r (one `readings` element of 25 bytes: ts ‖ reading pointer) and
// member i of m: elements[r*25 .. r*25+25) = the element; kinds[r*m+i] = 0 no value,
// 1 number in nums[r*m+i], 2 a value that is not a numeric fast-path scalar (the
// caller decodes it itself). Elements of other lengths are not readings: skipped.
#include "scan.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lmdb-leaf.h"
#include "lmdb.h"
#include "lmdbjs-txn.h"
#include "scan-args.h"
#include "scan-core.h"
#include "status.h"

namespace lmj {
namespace {

constexpr size_t kArgs = 11;
// The type byte of a set pointer (src/core/bytes.ts SET_TYPE).
constexpr uint8_t kSetType = 0x02;

int Compare(const MDB_val& a, const Bytes& b) {
  const size_t n = a.mv_size < b.len ? a.mv_size : b.len;
  const int c = n == 0 ? 0 : std::memcmp(a.mv_data, b.data, n);
  if (c != 0) return c;
  return a.mv_size < b.len ? -1 : (a.mv_size > b.len ? 1 : 0);
}

// Reads member i of the reading at `ptr` with one cursor seek (LMDB's cursor set skips
// the descent from the root when the key is on the current leaf page): cheaper than
// the walk below when only one member is wanted.
int ReadMember(const Spec& s, MDB_cursor* mc, const uint8_t* ptr, size_t i, std::vector<uint8_t>* key, uint8_t* kind, double* num) {
  const Bytes& m = s.members[i];
  key->resize(kPtrLen + m.len);
  std::memcpy(key->data(), ptr, kPtrLen);
  std::memcpy(key->data() + kPtrLen, m.data, m.len);
  MDB_val k{key->size(), key->data()};
  MDB_val v;
  const int rc = mdb_cursor_get(mc, &k, &v, MDB_SET_KEY);
  if (rc == MDB_NOTFOUND) return *kind = 0, MDB_SUCCESS;
  if (rc != MDB_SUCCESS) return rc;
  *kind = DecodeNumber(static_cast<const uint8_t*>(v.mv_data), v.mv_size, num) ? 1 : 2;
  return MDB_SUCCESS;
}

// How a key of `main` (`ptr ‖ name`) sorts against the keys of the object `ptr`: < 0
// before them, 0 one of them, > 0 after them.
int KeyVsObject(const MDB_val& key, const uint8_t* ptr) {
  const size_t n = key.mv_size < kPtrLen ? key.mv_size : kPtrLen;
  const int c = std::memcmp(key.mv_data, ptr, n);
  if (c != 0) return c;
  return key.mv_size < kPtrLen ? -1 : 0;
}

// Reads the wanted members of consecutive readings in ONE pass over their keys in
// `main`: an object's members are the contiguous keys `ptr ‖ name`, and readings made
// in time order have consecutive pointers, so a time range of readings is one key range
// of `main`. The walk reads the leaf page the cursor stands on in place (lmdb-leaf.h),
// stepping over the keys of the reading's other members and of objects in between, and
// seeks only where a reading's keys are not on the current page (a page boundary,
// pointers out of order, a member value on an overflow page is read with mdb_get).
class MainWalk {
 public:
  MainWalk(const Spec& s, MDB_cursor* mc) : s_(s), mc_(mc) { next_.reserve(kPtrLen + kMaxMemberNameLen + 1); }

  // Fills `kinds`/`nums` (one slot per member) for the reading at `ptr`.
  int Read(const uint8_t* ptr, uint8_t* kinds, double* nums) {
    std::memset(kinds, 0, s_.members.size());
    if (s_.members.empty()) return MDB_SUCCESS;
    // The walk only moves forward: a pointer not above the previous one (another
    // process's pointers in the same millisecond, replayed records) is sought.
    const bool forward = valid_ && std::memcmp(prev_, ptr, kPtrLen) < 0;
    std::memcpy(prev_, ptr, kPtrLen);
    return ReadAt(ptr, forward, kinds, nums);
  }

 private:
  int ReadAt(const uint8_t* ptr, bool forward, uint8_t* kinds, double* nums) {
    const size_t m = s_.members.size();
    if (!forward || !OnPage(ptr)) {
      const int rc = Seek(ptr, kPtrLen);
      if (rc != MDB_SUCCESS) return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
    }
    MDB_val key, val;
    for (;;) {
      if (i_ == leaf_.nkeys) {
        // The reading's keys go on past this page: seek the key after its last one.
        lmj_leaf_node(&leaf_, leaf_.nkeys - 1, &key, &val);
        next_.assign(static_cast<const uint8_t*>(key.mv_data), static_cast<const uint8_t*>(key.mv_data) + key.mv_size);
        next_.push_back(0);
        const int rc = Seek(next_.data(), next_.size());
        if (rc != MDB_SUCCESS) return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
      }
      const bool inPlace = lmj_leaf_node(&leaf_, i_, &key, &val) == 1;
      if (KeyVsObject(key, ptr) != 0) return MDB_SUCCESS;
      const uint8_t* name = static_cast<const uint8_t*>(key.mv_data) + kPtrLen;
      const size_t len = key.mv_size - kPtrLen;
      for (size_t j = 0; j < m; j++) {
        const Bytes& want = s_.members[j];
        if (want.len != len || std::memcmp(want.data, name, len) != 0) continue;
        if (!inPlace) {
          const int rc = mdb_get(s_.txn, s_.main_dbi, &key, &val);
          if (rc != MDB_SUCCESS) return rc;
        }
        kinds[j] = DecodeNumber(static_cast<const uint8_t*>(val.mv_data), val.mv_size, nums + j) ? 1 : 2;
        break;
      }
      i_++;
    }
  }

  // Moves i_ to the first key of `ptr` or after it on the current page (i_ stands after
  // the previous reading's keys, all below `ptr`'s); false when the page ends before.
  bool OnPage(const uint8_t* ptr) {
    MDB_val key, val;
    lmj_leaf_node(&leaf_, leaf_.nkeys - 1, &key, &val);
    if (KeyVsObject(key, ptr) < 0) return false;
    for (; i_ < leaf_.nkeys; i_++) {
      lmj_leaf_node(&leaf_, i_, &key, &val);
      if (KeyVsObject(key, ptr) >= 0) return true;
    }
    return false;
  }

  // Positions the walk on the first key >= `key` (MDB_NOTFOUND: none).
  int Seek(const uint8_t* key, size_t len) {
    MDB_val k{len, const_cast<uint8_t*>(key)};
    MDB_val v;
    valid_ = false;
    const int rc = mdb_cursor_get(mc_, &k, &v, MDB_SET_RANGE);
    if (rc != MDB_SUCCESS) return rc;
    // `main` holds only ordinary leaves; anything else is not a store this scan reads.
    if (lmj_cursor_leaf(mc_, &leaf_, &i_) != 0) return MDB_CORRUPTED;
    valid_ = true;
    return MDB_SUCCESS;
  }

  const Spec& s_;
  MDB_cursor* mc_;
  lmj_leaf leaf_{};
  unsigned i_ = 0;
  bool valid_ = false;
  uint8_t prev_[kPtrLen] = {};
  std::vector<uint8_t> next_;
};

}  // namespace

bool DecodeNumber(const uint8_t* b, size_t n, double* out) {
  if (n == 0) return false;
  const uint8_t h = b[0];
  if (h < 0x18) return *out = h, true;
  if (h == 0x18 && n == 2) return *out = b[1], true;
  if (h == 0x19 && n == 3) return *out = Be16(b + 1), true;
  if (h == 0x1a && n == 5) return *out = Be32(b + 1), true;
  if (h >= 0x20 && h < 0x38) return *out = -1.0 - (h - 0x20), true;
  if (h == 0x38 && n == 2) return *out = -1.0 - b[1], true;
  if (h == 0xfb && n == 9) {
    uint64_t bits = (uint64_t(Be32(b + 1)) << 32) | Be32(b + 5);
    std::memcpy(out, &bits, 8);
    return true;
  }
  return false;
}

int64_t Run(Spec& s) {
  const size_t m = s.members.size();
  const size_t cap = s.elements.len / kElementLen;
  if (s.kinds.len < cap * m || s.nums.len < cap * m * 8) return kInvalidParam;
  MDB_cursor* cur = nullptr;
  MDB_cursor* mc = nullptr;
  int rc = mdb_cursor_open(s.txn, s.set_dbi, &cur);
  if (rc != MDB_SUCCESS) return kScanFailed;
  rc = mdb_cursor_open(s.txn, s.main_dbi, &mc);
  if (rc != MDB_SUCCESS) {
    mdb_cursor_close(cur);
    return kScanFailed;
  }
  MDB_val k{kPtrLen, s.set_key.data};
  MDB_val d{0, nullptr};
  if (s.has_from) {
    d = MDB_val{s.from.len, s.from.data};
    rc = mdb_cursor_get(cur, &k, &d, MDB_GET_BOTH_RANGE);
  } else {
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY);
  }
  MainWalk walk(s, mc);
  // One member: a seek per reading costs less than stepping over the reading's other
  // keys; from two members on, the walk costs less (bench/query-profile.ts, docs/query.md).
  const bool seek = m == 1;
  std::vector<uint8_t> key;
  if (seek) key.reserve(kPtrLen + kMaxMemberNameLen);
  double* nums = reinterpret_cast<double*>(s.nums.data);
  size_t rows = 0;
  while (rc == MDB_SUCCESS && rows < cap) {
    if (s.has_to && Compare(d, s.to) >= 0) break;
    if (d.mv_size == kElementLen) {
      uint8_t* el = s.elements.data + rows * kElementLen;
      std::memcpy(el, d.mv_data, kElementLen);
      rc = seek ? ReadMember(s, mc, el + 8, 0, &key, s.kinds.data + rows, nums + rows) : walk.Read(el + 8, s.kinds.data + rows * m, nums + rows * m);
      if (rc != MDB_SUCCESS) break;
      rows++;
    }
    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_DUP);
  }
  mdb_cursor_close(mc);
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return kScanFailed;
  return static_cast<int64_t>(rows);
}

int ResolveSet(Spec& s, uint8_t* key) {
  MDB_val owner{kPtrLen, s.set_key.data};
  MDB_val v;
  // An entity exists when its key is in the set database (its member list / elements).
  int rc = mdb_get(s.txn, s.set_dbi, &owner, &v);
  if (rc == MDB_NOTFOUND) return 2;
  if (rc != MDB_SUCCESS) return -1;
  MDB_val mk{s.set_key.len, s.set_key.data};
  rc = mdb_get(s.txn, s.main_dbi, &mk, &v);
  if (rc == MDB_NOTFOUND) return 3;
  if (rc != MDB_SUCCESS) return -1;
  if (v.mv_size != kPtrLen || static_cast<const uint8_t*>(v.mv_data)[0] != kSetType) return 3;
  std::memcpy(key, v.mv_data, kPtrLen);
  s.set_key = Bytes{key, kPtrLen};
  return 0;
}


bool ParseSpecHead(napi_env env, const napi_value* a, Spec* s) {
  int64_t txn_address = 0;
  uint32_t set_dbi = 0, main_dbi = 0;
  if (napi_get_value_int64(env, a[0], &txn_address) != napi_ok || napi_get_value_uint32(env, a[1], &set_dbi) != napi_ok ||
      napi_get_value_uint32(env, a[2], &main_dbi) != napi_ok) {
    return false;
  }
  s->txn = LmdbJsTxn(txn_address);
  s->set_dbi = set_dbi;
  s->main_dbi = main_dbi;
  if (s->txn == nullptr || !BytesOf(env, a[3], &s->set_key) || s->set_key.len < kPtrLen ||
      s->set_key.len > kPtrLen + kMaxMemberNameLen || !OptionalBytes(env, a[4], &s->from, &s->has_from) ||
      !OptionalBytes(env, a[5], &s->to, &s->has_to) || !ParseMembers(env, a[6], &s->members)) {
    return false;
  }
  if (s->has_from && s->from.len == 0) s->has_from = false;
  return true;
}

napi_value ScanReadings(napi_env env, napi_callback_info info) {
  size_t argc = kArgs;
  napi_value a[kArgs];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < kArgs) return Int(env, kInvalidParam);
  Spec s{};
  Bytes resolved;
  if (!ParseSpecHead(env, a, &s) || !BytesOf(env, a[7], &s.elements) || !BytesOf(env, a[8], &s.kinds) ||
      !BytesOf(env, a[9], &s.nums, napi_float64_array) || !BytesOf(env, a[10], &resolved) || resolved.len < kPtrLen) {
    return Int(env, kInvalidParam);
  }
  if (s.set_key.len > kPtrLen) {
    // `owner ‖ member`: the set pointer is read here, in the same transaction, and handed
    // back in `resolved` for the caller's next batch.
    const int found = ResolveSet(s, resolved.data);
    if (found < 0) return Int(env, kScanFailed);
    if (found == 2) return Int(env, 0);
    if (found == 3) return Int(env, kStoreCorrupt);
  }
  return Int(env, Run(s));
}

napi_value LmdbVersion(napi_env env, napi_callback_info) {
  napi_value out;
  const char* v = mdb_version(nullptr, nullptr, nullptr);
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &out);
  return out;
}

}  // namespace lmj
