// UTF-8 validation (the WHATWG/RFC 3629 definition: no overlongs, no
// surrogates, nothing above U+10FFFF) and UTF-8 appenders.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace lmj {

// Length of the valid UTF-8 sequence starting at p (1..4), or 0 if invalid.
inline size_t Utf8SeqLen(const uint8_t* p, const uint8_t* end) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t avail = static_cast<size_t>(end - p);
  if (c >= 0xC2 && c <= 0xDF) {
    return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
    if (c == 0xED && p[1] >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
    if (c == 0xF4 && p[1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

inline bool ValidUtf8(const uint8_t* p, size_t n) {
  const uint8_t* end = p + n;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    size_t len = Utf8SeqLen(p, end);
    if (len == 0) return false;
    p += len;
  }
  return true;
}

// Appends code point cp (0..0x10FFFF) as generalized UTF-8: a lone surrogate
// (0xD800..0xDFFF) keeps its own 3-byte form ("WTF-8"), so distinct JS strings
// stay distinct; ToUtf8Replacing() later turns those into U+FFFD.
inline void AppendWtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// True when the 3 bytes at p are a WTF-8 surrogate (ED A0..BF xx). Valid UTF-8
// never contains these, so they only come from \u escapes.
inline bool IsWtf8Surrogate(const uint8_t* p, const uint8_t* end) {
  return end - p >= 3 && p[0] == 0xED && p[1] >= 0xA0;
}

}  // namespace lmj
