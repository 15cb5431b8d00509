#include "flatten.h"

#include "cbor.h"
#include "json.h"

namespace lmj {

namespace {
// `auto`: JSON when the first non-whitespace byte is `{`, otherwise CBOR.
bool LooksLikeJson(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{';
  }
  return false;
}
}  // namespace

int32_t FlattenOne(const uint8_t* p, size_t n, int32_t format, const Limits& limits, Flattener& f,
                   std::vector<uint32_t>& order) {
  f.Reset();
  order.clear();
  if (format == kAuto) format = LooksLikeJson(p, n) ? kJson : kCbor;
  if (format == kJson) {
    uint32_t depth = 0;
    bool top_object = false;
    if (JsonValidate(p, n, &depth, &top_object) != kOk) return kBadJson;
    if (!top_object) return kNotAnObject;
    if (depth > limits.max_depth) return kTooDeep;
    JsonWalk(p, n, f);
  } else {
    CborScan scan;
    if (CborValidate(p, n, &scan) != kOk) return kBadCbor;
    if (scan.top_major != 5) return kNotAnObject;
    if (scan.max_depth > limits.max_depth) return kTooDeep;
    if (scan.unsupported) return kUnsupportedValue;
    CborWalk(p, n, f);
  }
  return f.Finish(limits, order);
}

}  // namespace lmj
