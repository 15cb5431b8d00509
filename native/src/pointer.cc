#include "pointer.h"

#include <cstring>

namespace lmj {

namespace {
constexpr uint32_t kCounterMax = 0xFFFFFF;
constexpr uint64_t kMsMax = (uint64_t{1} << 48) - 1;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void PointerGen::Seed(const uint8_t nonce[5]) { std::memcpy(nonce_, nonce, 5); }

void PointerGen::Next(uint8_t type, uint16_t partition, uint64_t now_ms, uint8_t* out) {
  if (now_ms > last_ms_) {
    last_ms_ = now_ms < kMsMax ? now_ms : kMsMax;
    counter_ = 0;
  } else if (counter_ >= kCounterMax) {
    last_ms_ += 1;
    counter_ = 0;
  } else {
    counter_ += 1;
  }
  out[0] = type;
  out[1] = static_cast<uint8_t>(partition >> 8);
  out[2] = static_cast<uint8_t>(partition);
  for (int i = 0; i < 6; ++i) out[3 + i] = static_cast<uint8_t>(last_ms_ >> (40 - 8 * i));
  std::memcpy(out + 9, nonce_, 5);
  out[14] = static_cast<uint8_t>(counter_ >> 16);
  out[15] = static_cast<uint8_t>(counter_ >> 8);
  out[16] = static_cast<uint8_t>(counter_);
}

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
