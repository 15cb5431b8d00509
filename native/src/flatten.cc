#include "flatten.h"

#include "cbor.h"
#include "json.h"

namespace lmj {

namespace {
// A leading UTF-8 byte order mark is not part of a JSON text; RFC 8259 §8.1 lets a
// parser ignore it, and firmware built with some toolchains sends one.
size_t BomLen(const uint8_t* p, size_t n) { return n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF ? 3 : 0; }

// `auto`: JSON when, after an optional BOM and JSON whitespace, the first byte can
// start a JSON value (`{ [ " - 0-9 t f n`), otherwise CBOR. A CBOR map head is
// 0xA0..0xBF, never one of these, so every CBOR map is read as CBOR.
bool LooksLikeJson(const uint8_t* p, size_t n) {
  for (size_t i = BomLen(p, n); i < n; ++i) {
    const uint8_t c = p[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
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
    const size_t bom = BomLen(p, n);
    p += bom;
    n -= bom;
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
