// Native reading scan (see scan.h). Reads pages of an environment that lmdb-js opened,
// through lmdb-js's own MDB_txn (never a second mdb_env_open in the process), with the
// same liblmdb sources lmdb-js was built from; src/core/reading-columns.ts checks the
// version strings match before it calls here.
//
// Output, per row r (one `readings` element of 25 bytes: ts ‖ reading pointer) and
// member i of m: elements[r*25 .. r*25+25) = the element; kinds[r*m+i] = 0 no value,
// 1 number in nums[r*m+i], 2 a value that is not a numeric fast-path scalar (the
// caller decodes it itself). Elements of other lengths are not readings: skipped.
#include "scan.h"

#include <cstdint>
#include <cmath>
#include <cstring>
#include <vector>

#include "lmdb.h"
#include "lmdbjs-txn.h"
#include "status.h"

namespace lmj {
namespace {

constexpr size_t kElementLen = 8 + kPtrLen;
constexpr size_t kMaxArgs = 10;
// The type byte of a set pointer (src/core/bytes.ts SET_TYPE).
constexpr uint8_t kSetType = 0x02;

napi_value Int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};

// A typed array argument of type `want` as bytes; false for anything else.
bool BytesOf(napi_env env, napi_value v, Bytes* out, napi_typedarray_type want = napi_uint8_array) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return false;
  if (type != want) return false;
  out->data = static_cast<uint8_t*>(data);
  out->len = length * (want == napi_float64_array ? 8 : 1);
  return true;
}

// An optional bound: null/undefined → no bound.
bool OptionalBytes(napi_env env, napi_value v, Bytes* out, bool* present) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  *present = !(t == napi_null || t == napi_undefined);
  return !*present || BytesOf(env, v, out);
}

uint32_t Be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t Be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]; }

// The numeric fast paths of src/query/values.ts decodeSql, byte for byte; anything
// else (text, booleans, wide integers, …) is left to the caller (false).
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

int Compare(const MDB_val& a, const Bytes& b) {
  const size_t n = a.mv_size < b.len ? a.mv_size : b.len;
  const int c = n == 0 ? 0 : std::memcmp(a.mv_data, b.data, n);
  if (c != 0) return c;
  return a.mv_size < b.len ? -1 : (a.mv_size > b.len ? 1 : 0);
}

struct Spec {
  MDB_txn* txn;
  MDB_dbi set_dbi;
  MDB_dbi main_dbi;
  Bytes set_key, from, to;
  bool has_from, has_to;
  std::vector<Bytes> members;
  Bytes elements, kinds, nums;
};

// Reads member i of the reading at `ptr` into the row's column slots. One `main` cursor
// for the whole batch: LMDB's cursor set skips the descent from the root when the key
// is on the current leaf page, and consecutive readings' keys are neighbours in `main`.
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

// Walks the set key's duplicates in [from, to) into the output arrays; rows or status.
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
  std::vector<uint8_t> key;
  key.reserve(kPtrLen + 512);
  double* nums = reinterpret_cast<double*>(s.nums.data);
  size_t rows = 0;
  while (rc == MDB_SUCCESS && rows < cap) {
    if (s.has_to && Compare(d, s.to) >= 0) break;
    if (d.mv_size == kElementLen) {
      uint8_t* el = s.elements.data + rows * kElementLen;
      std::memcpy(el, d.mv_data, kElementLen);
      for (size_t i = 0; i < m && rc == MDB_SUCCESS; i++) {
        rc = ReadMember(s, mc, el + 8, i, &key, s.kinds.data + rows * m + i, nums + rows * m + i);
      }
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

bool ParseMembers(napi_env env, napi_value arr, std::vector<Bytes>* out) {
  bool is = false;
  if (napi_is_array(env, arr, &is) != napi_ok || !is) return false;
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  out->resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !BytesOf(env, v, &(*out)[i])) return false;
    if ((*out)[i].len == 0 || (*out)[i].len > kMaxMemberNameLen) return false;
  }
  return true;
}

// ---- aggregate pushdown ----------------------------------------------------

enum AggFn { kCountStar = 0, kCount = 1, kSum = 2, kAvg = 3, kMin = 4, kMax = 5 };
enum Op { kLt = 0, kLe = 1, kGt = 2, kGe = 3, kEq = 4, kNe = 5 };

struct Pred {
  int slot;  // -1: ts, else member index
  int op;
  double value;
};

struct AggSpec {
  int fn;
  int member;  // -1 for count(*)
};

// One group of one device: its bucket key and two numbers per aggregate
// (count: n; sum/avg: n, sum; min/max: has a value, the value).
struct Group {
  double key;
  std::vector<double> st;
};

bool Holds(int op, double v, double c) {
  switch (op) {
    case kLt: return v < c;
    case kLe: return v <= c;
    case kGt: return v > c;
    case kGe: return v >= c;
    case kEq: return v == c;
    default: return v != c;
  }
}

void Step(const AggSpec& a, double v, double* st) {
  switch (a.fn) {
    case kCountStar:
    case kCount: st[0] += 1; return;
    case kSum:
    case kAvg: st[0] += 1; st[1] += v; return;
    case kMin: if (st[0] == 0 || v < st[1]) st[0] = 1, st[1] = v; return;
    default: if (st[0] == 0 || v > st[1]) st[0] = 1, st[1] = v; return;
  }
}

struct AggRun {
  std::vector<Pred> preds;
  std::vector<AggSpec> aggs;
  double width = 0;  // 0: no time bucket
  double max_rows = 0;
  double rows = 0, values = 0;
  bool fallback = false;
  std::vector<Group> groups;
};

// Folds one reading (ts, its member kinds/values) into the run's groups.
void Fold(AggRun& g, double ts, const uint8_t* kinds, const double* nums, size_t m) {
  for (size_t i = 0; i < m; i++) {
    if (kinds[i] == 2 || (kinds[i] == 1 && !std::isfinite(nums[i]))) return void(g.fallback = true);
    if (kinds[i] != 0) g.values++;
  }
  for (const Pred& p : g.preds) {
    if (p.slot >= 0 && kinds[p.slot] == 0) return;  // NULL: not true
    if (!Holds(p.op, p.slot < 0 ? ts : nums[p.slot], p.value)) return;
  }
  const double key = g.width > 0 ? std::floor(ts / g.width) * g.width : 0;
  if (g.groups.empty() || g.groups.back().key != key) g.groups.push_back(Group{key, std::vector<double>(g.aggs.size() * 2, 0)});
  double* st = g.groups.back().st.data();
  for (size_t a = 0; a < g.aggs.size(); a++) {
    const AggSpec& s = g.aggs[a];
    if (s.member >= 0 && kinds[s.member] == 0) continue;
    Step(s, s.member >= 0 ? nums[s.member] : 1, st + 2 * a);
  }
}

// Walks the device's range reading every member (one small batch buffer reused).
int64_t RunAgg(Spec& s, AggRun& g) {
  const size_t m = s.members.size();
  std::vector<uint8_t> els(kElementLen * 256), kinds(256 * (m == 0 ? 1 : m));
  std::vector<double> nums(256 * (m == 0 ? 1 : m));
  s.elements = Bytes{els.data(), els.size()};
  s.kinds = Bytes{kinds.data(), kinds.size()};
  s.nums = Bytes{reinterpret_cast<uint8_t*>(nums.data()), nums.size() * 8};
  std::vector<uint8_t> next;
  for (;;) {
    const int64_t n = Run(s);
    if (n < 0) return n;
    for (int64_t r = 0; r < n && !g.fallback; r++) {
      const uint8_t* el = els.data() + r * kElementLen;
      const double ts = static_cast<double>((uint64_t(Be32(el)) << 32) | Be32(el + 4));
      g.rows++;
      Fold(g, ts, kinds.data() + r * m, nums.data() + r * m, m);
    }
    if (g.fallback || n < 256 || g.rows > g.max_rows) return 0;
    // Continue after the last element: the element itself ‖ 0x00.
    next.assign(els.data() + (n - 1) * kElementLen, els.data() + n * kElementLen);
    next.push_back(0);
    s.from = Bytes{next.data(), next.size()};
    s.has_from = true;
  }
}

// The answer of a call that read no readings: [status, 0, 0, 0].
napi_value StatusAnswer(napi_env env, int status) {
  napi_value ab, out;
  void* data = nullptr;
  napi_create_arraybuffer(env, 4 * 8, &data, &ab);
  double* o = static_cast<double*>(data);
  o[0] = status;
  o[1] = o[2] = o[3] = 0;
  napi_create_typedarray(env, napi_float64_array, 4, ab, 0, &out);
  return out;
}

// s.set_key given as `owner ‖ member`: the set pointer that member holds, looked up in
// the same transaction, into `key` (s.set_key then points there). 0 found; 2 the owner
// does not exist (no set, nothing to read); 3 the member is absent or not a set pointer
// (the caller resolves it itself, with its own error); < 0 an LMDB failure.
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

}  // namespace

napi_value ScanReadings(napi_env env, napi_callback_info info) {
  size_t argc = kMaxArgs;
  napi_value a[kMaxArgs];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < kMaxArgs) return Int(env, kInvalidParam);
  Spec s{};
  int64_t txn_address = 0;
  uint32_t set_dbi = 0, main_dbi = 0;
  if (napi_get_value_int64(env, a[0], &txn_address) != napi_ok || napi_get_value_uint32(env, a[1], &set_dbi) != napi_ok ||
      napi_get_value_uint32(env, a[2], &main_dbi) != napi_ok) {
    return Int(env, kInvalidParam);
  }
  s.txn = LmdbJsTxn(txn_address);
  s.set_dbi = set_dbi;
  s.main_dbi = main_dbi;
  if (s.txn == nullptr || !BytesOf(env, a[3], &s.set_key) || s.set_key.len != kPtrLen ||
      !OptionalBytes(env, a[4], &s.from, &s.has_from) || !OptionalBytes(env, a[5], &s.to, &s.has_to) ||
      !ParseMembers(env, a[6], &s.members) || !BytesOf(env, a[7], &s.elements) || !BytesOf(env, a[8], &s.kinds) ||
      !BytesOf(env, a[9], &s.nums, napi_float64_array)) {
    return Int(env, kInvalidParam);
  }
  if (s.has_from && s.from.len == 0) s.has_from = false;
  return Int(env, Run(s));
}

napi_value LmdbVersion(napi_env env, napi_callback_info) {
  napi_value out;
  const char* v = mdb_version(nullptr, nullptr, nullptr);
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &out);
  return out;
}

}  // namespace lmj

namespace lmj {

// aggregateReadings(txnAddress, setDbi, mainDbi, setKey | owner ‖ member, from|null, to|null, members[],
//                   preds Float64Array [slot, op, value]…, bucket width (0: none),
//                   aggs Float64Array [fn, member]…, max rows)
// -> Float64Array [status (0 ok, 1 fall back to the row scan, 2 no owner, 3 the owner's
//    member is not a set pointer; see ResolveSet), rows, values, groups,
//    then per group: key, two numbers per aggregate], or a negative status number.
napi_value AggregateReadings(napi_env env, napi_callback_info info) {
  constexpr size_t kArgs = 11;
  size_t argc = kArgs;
  napi_value a[kArgs];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < kArgs) return Int(env, kInvalidParam);
  Spec s{};
  AggRun g;
  int64_t txn_address = 0;
  uint32_t set_dbi = 0, main_dbi = 0;
  Bytes preds, aggs;
  if (napi_get_value_int64(env, a[0], &txn_address) != napi_ok || napi_get_value_uint32(env, a[1], &set_dbi) != napi_ok ||
      napi_get_value_uint32(env, a[2], &main_dbi) != napi_ok || napi_get_value_double(env, a[8], &g.width) != napi_ok ||
      napi_get_value_double(env, a[10], &g.max_rows) != napi_ok) {
    return Int(env, kInvalidParam);
  }
  s.txn = LmdbJsTxn(txn_address);
  s.set_dbi = set_dbi;
  s.main_dbi = main_dbi;
  if (s.txn == nullptr || !BytesOf(env, a[3], &s.set_key) || s.set_key.len < kPtrLen || s.set_key.len > kPtrLen + kMaxMemberNameLen ||
      !OptionalBytes(env, a[4], &s.from, &s.has_from) || !OptionalBytes(env, a[5], &s.to, &s.has_to) ||
      !ParseMembers(env, a[6], &s.members) || !BytesOf(env, a[7], &preds, napi_float64_array) ||
      !BytesOf(env, a[9], &aggs, napi_float64_array) || !(g.width >= 0)) {
    return Int(env, kInvalidParam);
  }
  if (s.has_from && s.from.len == 0) s.has_from = false;
  const double* pd = reinterpret_cast<const double*>(preds.data);
  const double* ad = reinterpret_cast<const double*>(aggs.data);
  const int m = static_cast<int>(s.members.size());
  for (size_t i = 0; i + 3 <= preds.len / 8; i += 3) {
    const Pred p{static_cast<int>(pd[i]), static_cast<int>(pd[i + 1]), pd[i + 2]};
    if (p.slot < -1 || p.slot >= m || p.op < kLt || p.op > kNe) return Int(env, kInvalidParam);
    g.preds.push_back(p);
  }
  for (size_t i = 0; i + 2 <= aggs.len / 8; i += 2) {
    const AggSpec x{static_cast<int>(ad[i]), static_cast<int>(ad[i + 1])};
    if (x.fn < kCountStar || x.fn > kMax || x.member < -1 || x.member >= m || (x.member < 0) != (x.fn == kCountStar)) {
      return Int(env, kInvalidParam);
    }
    g.aggs.push_back(x);
  }
  uint8_t set_key[kPtrLen];
  if (s.set_key.len > kPtrLen) {
    const int found = ResolveSet(s, set_key);
    if (found < 0) return Int(env, kScanFailed);
    if (found > 0) return StatusAnswer(env, found);
  }
  const int64_t rc = RunAgg(s, g);
  if (rc < 0) return Int(env, rc);
  const size_t per = 1 + g.aggs.size() * 2;
  const size_t len = 4 + (g.fallback ? 0 : g.groups.size() * per);
  napi_value ab, out;
  void* data = nullptr;
  if (napi_create_arraybuffer(env, len * 8, &data, &ab) != napi_ok) return Int(env, kInvalidParam);
  double* o = static_cast<double*>(data);
  o[0] = g.fallback ? 1 : 0;
  o[1] = g.rows;
  o[2] = g.values;
  o[3] = g.fallback ? 0 : static_cast<double>(g.groups.size());
  if (!g.fallback) {
    double* w = o + 4;
    for (const Group& gr : g.groups) {
      *w++ = gr.key;
      for (double x : gr.st) *w++ = x;
    }
  }
  napi_create_typedarray(env, napi_float64_array, len, ab, 0, &out);
  return out;
}

}  // namespace lmj
