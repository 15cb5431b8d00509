// Aggregate pushdown of the native reading scan (see scan.h): count/sum/min/max per
// group of one device's readings, folded while Run (scan-core.h) walks the range, so
// only the groups cross into JavaScript (src/query/pushdown.ts).
#include <cmath>
#include <cstdint>
#include <vector>

#include "scan-args.h"
#include "scan-core.h"
#include "scan.h"
#include "status.h"

namespace lmj {
namespace {

constexpr size_t kArgs = 11;

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

}  // namespace

// aggregateReadings(txnAddress, setDbi, mainDbi, setKey | owner ‖ member, from|null, to|null, members[],
//                   preds Float64Array [slot, op, value]…, bucket width (0: none),
//                   aggs Float64Array [fn, member]…, max rows)
// -> Float64Array [status (0 ok, 1 fall back to the row scan, 2 no owner, 3 the owner's
//    member is not a set pointer; see ResolveSet), rows, values, groups,
//    then per group: key, two numbers per aggregate], or a negative status number.
napi_value AggregateReadings(napi_env env, napi_callback_info info) {
  size_t argc = kArgs;
  napi_value a[kArgs];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok || argc < kArgs) return Int(env, kInvalidParam);
  Spec s{};
  AggRun g;
  Bytes preds, aggs;
  if (!ParseSpecHead(env, a, &s) || napi_get_value_double(env, a[8], &g.width) != napi_ok ||
      napi_get_value_double(env, a[10], &g.max_rows) != napi_ok || !BytesOf(env, a[7], &preds, napi_float64_array) ||
      !BytesOf(env, a[9], &aggs, napi_float64_array) || !(g.width >= 0)) {
    return Int(env, kInvalidParam);
  }
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
