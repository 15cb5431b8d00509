// Pointers (docs/codec.md §1–§3): partition function, hex text. Pointers are generated
// in TypeScript (one generator per process for both codecs: a Node-API call per pointer
// costs more than generating it, measured in docs/codec.md).
#pragma once
#include <cstddef>
#include <cstdint>

namespace lmj {

// FNV-1a 32 over the bytes, folded to 16 bits by XOR of the halves.
uint16_t PartitionOf(const uint8_t* p, size_t n);

// 34 lowercase hex characters into out (no terminator).
void FormatHex(const uint8_t* ptr, char* out);

// Parses 34 hex characters (either case). False on anything else.
bool ParseHex(const char* s, size_t n, uint8_t* out);

inline bool ValidPointer(const uint8_t* p, size_t n) { return n == 17 && (p[0] == 1 || p[0] == 2); }

}  // namespace lmj
