#include "json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "json-scanner.h"
#include "utf8.h"

namespace lmj {

namespace {

using json_scan::HexVal;
using json_scan::IsDigit;
using json_scan::IsWs;
using json_scan::OutOfRange;
using json_scan::Scanner;

class Walker {
 public:
  Walker(const uint8_t* p, size_t n, Flattener& f) : p_(p), end_(p + n), f_(f) {}

  void Top() {
    Ws();
    Object(true);
  }

 private:
  void Ws() {
    while (p_ < end_ && IsWs(*p_)) ++p_;
  }

  // Reads a validated string; returns its WTF-8 bytes (in the input when it has
  // no escapes, else in a scratch buffer that lives until the next call).
  void ReadString(const uint8_t** out, size_t* len) {
    ++p_;  // opening quote
    const uint8_t* start = p_;
    while (*p_ != '"' && *p_ != '\\') ++p_;
    if (*p_ == '"') {
      *out = start;
      *len = static_cast<size_t>(p_ - start);
      ++p_;
      return;
    }
    scratch_.assign(reinterpret_cast<const char*>(start), static_cast<size_t>(p_ - start));
    while (*p_ != '"') {
      if (*p_ != '\\') {
        scratch_.push_back(static_cast<char>(*p_++));
        continue;
      }
      uint8_t e = p_[1];
      p_ += 2;
      switch (e) {
        case 'b': scratch_.push_back('\b'); break;
        case 'f': scratch_.push_back('\f'); break;
        case 'n': scratch_.push_back('\n'); break;
        case 'r': scratch_.push_back('\r'); break;
        case 't': scratch_.push_back('\t'); break;
        case 'u': {
          uint32_t cp = Hex4(p_);
          p_ += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
            uint32_t lo = Hex4(p_ + 2);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              p_ += 6;
            }
          }
          AppendWtf8(scratch_, cp);
          break;
        }
        default: scratch_.push_back(static_cast<char>(e)); break;  // " \ /
      }
    }
    ++p_;
    *out = reinterpret_cast<const uint8_t*>(scratch_.data());
    *len = scratch_.size();
  }

  static uint32_t Hex4(const uint8_t* q) {
    return static_cast<uint32_t>((HexVal(q[0]) << 12) | (HexVal(q[1]) << 8) | (HexVal(q[2]) << 4) | HexVal(q[3]));
  }

  void Object(bool top) {
    ++p_;  // {
    Ws();
    if (*p_ == '}') {
      ++p_;
      if (!top) f_.LeafSimple(0xA0);
      return;
    }
    const size_t base = f_.BeginMap();
    const size_t plen = f_.PathLen();
    for (;;) {
      const uint8_t* key;
      size_t klen;
      ReadString(&key, &klen);
      const size_t slot = f_.KeyStart(base, key, klen);
      if (klen == 0) f_.Violation(kEmptyKey);
      f_.AppendKey(key, klen, top);
      Ws();
      ++p_;  // :
      Ws();
      Value();
      f_.TruncatePath(plen);
      f_.KeyEnd(slot);
      Ws();
      if (*p_++ == '}') break;
      Ws();
    }
    f_.EndMap(base);
  }

  void Array() {
    ++p_;  // [
    Ws();
    if (*p_ == ']') {
      ++p_;
      f_.LeafSimple(0x80);
      return;
    }
    const size_t plen = f_.PathLen();
    for (uint64_t i = 0;; ++i) {
      f_.AppendIndex(i);
      Value();
      f_.TruncatePath(plen);
      Ws();
      if (*p_++ == ']') break;
      Ws();
    }
  }

  void Value() {
    switch (*p_) {
      case '{': Object(false); return;
      case '[': Array(); return;
      case '"': {
        const uint8_t* s;
        size_t n;
        ReadString(&s, &n);
        f_.LeafWtf8Text(s, n);
        return;
      }
      case 't': p_ += 4; f_.LeafSimple(0xF5); return;
      case 'f': p_ += 5; f_.LeafSimple(0xF4); return;
      case 'n': p_ += 4; f_.LeafSimple(0xF6); return;
      default: break;
    }
    const uint8_t* s = p_;
    while (p_ < end_ && (IsDigit(*p_) || *p_ == '-' || *p_ == '+' || *p_ == '.' || *p_ == 'e' || *p_ == 'E')) ++p_;
    if (ExactInteger(s, p_)) return;
    double d = 0;
    auto r = std::from_chars(reinterpret_cast<const char*>(s), reinterpret_cast<const char*>(p_), d);
    if (r.ec == std::errc::result_out_of_range) d = OutOfRange(s, p_);
    f_.LeafDouble(d);
  }

  // An integer literal (no fraction, no exponent) beyond 2^53-1 is stored exactly
  // as a CBOR integer, or is INTEGER_OUT_OF_RANGE beyond 64 bits, never rounded to
  // a double (docs/codec.md §6). False when the literal is left to the double path.
  bool ExactInteger(const uint8_t* s, const uint8_t* e) {
    const bool neg = *s == '-';
    const uint8_t* d = neg ? s + 1 : s;
    // Fewer than 16 digits is below 10^15 < 2^53: the double is exact.
    if (e - d < 16) return false;
    for (const uint8_t* q = d; q < e; ++q) {
      if (!IsDigit(*q)) return false;
    }
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    uint64_t m = 0;
    bool over = false;
    for (const uint8_t* q = d; q < e && !over; ++q) {
      const uint64_t digit = *q - '0';
      if (m > (kMax - digit) / 10) {
        over = true;
      } else {
        m = m * 10 + digit;
      }
    }
    if (!over && m <= 9007199254740991ull) return false;
    if (!over) {
      if (neg) {
        f_.LeafNint(m - 1);
      } else {
        f_.LeafUint(m);
      }
      return true;
    }
    // -2^64 is the one magnitude beyond uint64 that CBOR still holds (major 1, 2^64-1).
    static const char kTwo64[] = "18446744073709551616";
    if (neg && static_cast<size_t>(e - d) == sizeof(kTwo64) - 1 && std::equal(d, e, kTwo64)) {
      f_.LeafNint(kMax);
    } else {
      f_.Violation(kIntegerOutOfRange);
    }
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  Flattener& f_;
  std::string scratch_;
};

}  // namespace

int32_t JsonValidate(const uint8_t* p, size_t n, uint32_t* max_depth, bool* top_is_object) {
  Scanner s(p, n);
  std::vector<uint8_t> stack;  // 1 = object, 0 = array; no recursion, any depth
  uint32_t deepest = 0;
  s.Ws();
  *top_is_object = s.Peek('{');
  for (;;) {
    // A value is expected here.
    s.Ws();
    if (s.AtEnd()) return kBadJson;
    switch (s.Cur()) {
      case '{':
        s.Eat('{');
        stack.push_back(1);
        if (stack.size() > deepest) deepest = static_cast<uint32_t>(stack.size());
        s.Ws();
        if (s.Eat('}')) {
          stack.pop_back();
        } else {
          if (!s.String()) return kBadJson;
          s.Ws();
          if (!s.Eat(':')) return kBadJson;
          continue;
        }
        break;
      case '[':
        s.Eat('[');
        stack.push_back(0);
        if (stack.size() > deepest) deepest = static_cast<uint32_t>(stack.size());
        s.Ws();
        if (s.Eat(']')) {
          stack.pop_back();
        } else {
          continue;
        }
        break;
      case '"':
        if (!s.String()) return kBadJson;
        break;
      case 't':
        if (!s.Literal("true", 4)) return kBadJson;
        break;
      case 'f':
        if (!s.Literal("false", 5)) return kBadJson;
        break;
      case 'n':
        if (!s.Literal("null", 4)) return kBadJson;
        break;
      default:
        if (!s.Number()) return kBadJson;
        break;
    }
    // After a value: close containers or move to the next member/element.
    for (;;) {
      s.Ws();
      if (stack.empty()) {
        if (!s.AtEnd()) return kBadJson;
        *max_depth = deepest;
        return kOk;
      }
      if (s.AtEnd()) return kBadJson;
      const bool in_object = stack.back() == 1;
      if (s.Eat(',')) {
        if (in_object) {
          s.Ws();
          if (!s.String()) return kBadJson;
          s.Ws();
          if (!s.Eat(':')) return kBadJson;
        }
        break;
      }
      if (s.Eat(in_object ? '}' : ']')) {
        stack.pop_back();
        continue;
      }
      return kBadJson;
    }
  }
}

void JsonWalk(const uint8_t* p, size_t n, Flattener& f) {
  Walker w(p, n, f);
  w.Top();
}

}  // namespace lmj
