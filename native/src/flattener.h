// The payload-independent half of flatten: builds key paths, encodes leaves as
// canonical CBOR, applies last-duplicate-wins, and checks the final-tree rules
// (docs/codec.md §5–§7). The JSON and CBOR walkers drive it.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "status.h"

namespace lmj {

struct Limits {
  uint32_t max_depth;
  uint32_t max_fields;
};

// One emitted item: a leaf (kind 0) or a final-tree rule violation (kind < 0),
// kept in the same list so a later duplicate key kills both together.
struct Entry {
  uint32_t path_off;
  uint32_t path_len;
  uint32_t val_off;
  uint32_t val_len;
  int32_t kind;
};

// A key already seen in the map being walked: its bytes and the entry range
// its value produced.
struct KeyRec {
  uint32_t key_off;
  uint32_t key_len;
  uint32_t first;
  uint32_t last;
};

class Flattener {
 public:
  void Reset();

  // Path building. A map frame starts with BeginMap() and ends with EndMap().
  size_t PathLen() const { return path_.size(); }
  void TruncatePath(size_t len) { path_.resize(len); }
  // Appends `.key` (or the top-level form) with escapes; key is WTF-8.
  void AppendKey(const uint8_t* key, size_t n, bool top);
  void AppendIndex(uint64_t i);

  size_t BeginMap() { return keys_.size(); }
  void EndMap(size_t base);
  // Registers `key` in the map frame starting at `base`; if it was seen before,
  // kills the entries its earlier value produced.
  // Returns the key's slot for KeyEnd().
  size_t KeyStart(size_t base, const uint8_t* key, size_t n);
  void KeyEnd(size_t slot) { keys_[slot].last = static_cast<uint32_t>(entries_.size()); }

  // Leaves, as canonical CBOR.
  void LeafSimple(uint8_t byte);
  void LeafDouble(double d);
  void LeafUint(uint64_t v);
  void LeafNint(uint64_t n);  // the value -1 - n
  void LeafBytes(uint8_t major, const uint8_t* p, size_t n);
  // A text leaf from WTF-8: lone surrogates become U+FFFD.
  void LeafWtf8Text(const uint8_t* p, size_t n);
  void Violation(int32_t status);

  // Applies the final-tree rules and sorts; on kOk, `order` lists the live
  // leaves in path byte order.
  int32_t Finish(const Limits& limits, std::vector<uint32_t>& order);

  const std::vector<uint8_t>& arena() const { return arena_; }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  void Head(uint8_t major, uint64_t v);
  void BeginLeaf();
  void EndLeaf(uint32_t val_off);

  std::string path_;
  std::vector<uint8_t> arena_;
  std::vector<Entry> entries_;
  std::vector<uint8_t> dead_;
  std::string key_store_;
  std::vector<KeyRec> keys_;
  // Large maps switch from a linear scan to a hash index (per open map frame).
  std::vector<std::unordered_map<std::string, uint32_t>> indexes_;
  std::vector<size_t> index_bases_;
};

}  // namespace lmj
