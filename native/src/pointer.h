// Pointers (docs/codec.md §1–§3): generation, partition function, hex text.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lmj {

// Per-process (per addon instance) generator: a 5-byte random nonce seeded from
// JavaScript, the last millisecond used and a 24-bit counter within it.
class PointerGen {
 public:
  void Seed(const uint8_t nonce[5]);
  // Writes one 17-byte pointer. `now_ms` is the wall clock; the stored time
  // never goes backwards, and the counter borrows the next millisecond when full.
  void Next(uint8_t type, uint16_t partition, uint64_t now_ms, uint8_t* out);

 private:
  uint8_t nonce_[5] = {0, 0, 0, 0, 0};
  uint64_t last_ms_ = 0;
  uint32_t counter_ = 0;
};

// FNV-1a 32 over the bytes, folded to 16 bits by XOR of the halves.
uint16_t PartitionOf(const uint8_t* p, size_t n);

// 34 lowercase hex characters into out (no terminator).
void FormatHex(const uint8_t* ptr, char* out);

// Parses 34 hex characters (either case). False on anything else.
bool ParseHex(const char* s, size_t n, uint8_t* out);

inline bool ValidPointer(const uint8_t* p, size_t n) { return n == 17 && (p[0] == 1 || p[0] == 2); }

}  // namespace lmj
