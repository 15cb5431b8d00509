// The JSON token scanner of the validator and the walker (./json.cc): bounds-checked
// byte scanning of strings, numbers and literals, and the value JSON.parse gives for a
// number token out of double's range. Header-only so that both stay inlined.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "utf8.h"

namespace lmj {
namespace json_scan {

inline bool IsWs(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

inline int HexVal(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Scanner {
 public:
  Scanner(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}

  void Ws() {
    while (p_ < end_ && IsWs(*p_)) ++p_;
  }
  bool AtEnd() const { return p_ >= end_; }
  bool Peek(uint8_t c) const { return p_ < end_ && *p_ == c; }
  bool Eat(uint8_t c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  bool String() {
    if (!Eat('"')) return false;
    while (p_ < end_) {
      uint8_t c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (end_ - p_ < 2) return false;
        uint8_t e = p_[1];
        if (e == 'u') {
          if (end_ - p_ < 6) return false;
          for (int i = 2; i < 6; ++i) {
            if (HexVal(p_[i]) < 0) return false;
          }
          p_ += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
          p_ += 2;
        } else {
          return false;
        }
      } else if (c < 0x80) {
        ++p_;
      } else {
        size_t len = Utf8SeqLen(p_, end_);
        if (len == 0) return false;
        p_ += len;
      }
    }
    return false;
  }

  bool Number() {
    Eat('-');
    if (Eat('0')) {
    } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    } else {
      return false;
    }
    if (Eat('.')) {
      if (!(p_ < end_ && IsDigit(*p_))) return false;
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (!Eat('+')) Eat('-');
      if (!(p_ < end_ && IsDigit(*p_))) return false;
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    }
    return true;
  }

  bool Literal(const char* lit, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    for (size_t i = 0; i < n; ++i) {
      if (p_[i] != static_cast<uint8_t>(lit[i])) return false;
    }
    p_ += n;
    return true;
  }

  uint8_t Cur() const { return *p_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The double JSON.parse gives for a number token whose magnitude from_chars
// reports out of range: ±Infinity on overflow, ±0 on underflow.
inline double OutOfRange(const uint8_t* s, const uint8_t* e) {
  bool neg = *s == '-';
  const uint8_t* q = neg ? s + 1 : s;
  long long lead = 0;  // decimal exponent of the first significant digit, before the 'e' part
  bool seen = false;
  long long int_digits = 0;
  long long frac_zeros = 0;
  while (q < e && IsDigit(*q)) {
    if (seen || *q != '0') {
      seen = true;
      ++int_digits;
    }
    ++q;
  }
  if (q < e && *q == '.') {
    ++q;
    while (q < e && IsDigit(*q)) {
      if (!seen) {
        if (*q != '0') {
          seen = true;
        } else {
          ++frac_zeros;
        }
      }
      ++q;
    }
  }
  lead = int_digits > 0 ? int_digits - 1 : -(frac_zeros + 1);
  long long exp = 0;
  if (q < e && (*q == 'e' || *q == 'E')) {
    ++q;
    bool eneg = false;
    if (*q == '+' || *q == '-') eneg = *q++ == '-';
    while (q < e && IsDigit(*q)) {
      if (exp < 1000000000LL) exp = exp * 10 + (*q - '0');
      ++q;
    }
    if (eneg) exp = -exp;
  }
  const bool overflow = seen && lead + exp > 0;
  const double mag = overflow ? std::numeric_limits<double>::infinity() : 0.0;
  return neg ? -mag : mag;
}

}  // namespace json_scan
}  // namespace lmj
