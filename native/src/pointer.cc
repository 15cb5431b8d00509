#include "pointer.h"

namespace lmj {

namespace {
int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

uint16_t PartitionOf(const uint8_t* p, size_t n) {
  uint32_t h = 0x811C9DC5u;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x01000193u;
  }
  return static_cast<uint16_t>((h >> 16) ^ (h & 0xFFFF));
}

void FormatHex(const uint8_t* ptr, char* out) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 17; ++i) {
    out[2 * i] = kHex[ptr[i] >> 4];
    out[2 * i + 1] = kHex[ptr[i] & 15];
  }
}

bool ParseHex(const char* s, size_t n, uint8_t* out) {
  if (n != 34) return false;
  for (int i = 0; i < 17; ++i) {
    const int hi = Hex(s[2 * i]);
    const int lo = Hex(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace lmj
