#include "flattener.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "utf8.h"

namespace lmj {

namespace {
// Maps with more keys than this index them in a hash map instead of a linear
// scan, so a hostile payload with many keys stays O(n).
constexpr size_t kLinearKeys = 24;
constexpr double kMaxSafe = 9007199254740991.0;

// Precedence of final-tree violations (docs/codec.md §7): lower wins.
int Rank(int32_t status) {
  switch (status) {
    case kEmptyKey: return 1;
    case kNonFinite: return 2;
    case kIntegerOutOfRange: return 3;
    case kPathTooLong: return 4;
    case kUnsupportedValue: return 5;
    case kTooManyFields: return 6;
    default: return 9;
  }
}
}  // namespace

void Flattener::Reset() {
  path_.clear();
  arena_.clear();
  entries_.clear();
  dead_.clear();
  key_store_.clear();
  keys_.clear();
  indexes_.clear();
  index_bases_.clear();
}

void Flattener::AppendKey(const uint8_t* key, size_t n, bool top) {
  if (!top) {
    path_.push_back('.');
  } else if (n > 0 && key[0] == '$') {
    path_.push_back('\\');
  }
  const uint8_t* end = key + n;
  for (const uint8_t* p = key; p < end;) {
    uint8_t c = *p;
    if (c == '.' || c == '[' || c == ']' || c == '\\') {
      path_.push_back('\\');
      path_.push_back(static_cast<char>(c));
      ++p;
    } else if (c == 0xED && IsWtf8Surrogate(p, end)) {
      path_.append("\xEF\xBF\xBD");
      p += 3;
    } else {
      path_.push_back(static_cast<char>(c));
      ++p;
    }
  }
}

void Flattener::AppendIndex(uint64_t i) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + i % 10);
    i /= 10;
  } while (i != 0);
  path_.push_back('[');
  while (n > 0) path_.push_back(buf[--n]);
  path_.push_back(']');
}

void Flattener::EndMap(size_t base) {
  if (!index_bases_.empty() && index_bases_.back() == base) {
    index_bases_.pop_back();
    indexes_.pop_back();
  }
  if (!keys_.empty() && base < keys_.size()) key_store_.resize(keys_[base].key_off);
  keys_.resize(base);
}

size_t Flattener::KeyStart(size_t base, const uint8_t* key, size_t n) {
  const uint32_t first = static_cast<uint32_t>(entries_.size());
  const bool indexed = !index_bases_.empty() && index_bases_.back() == base;
  long found = -1;
  if (indexed) {
    auto it = indexes_.back().find(std::string(reinterpret_cast<const char*>(key), n));
    if (it != indexes_.back().end()) found = static_cast<long>(it->second);
  } else {
    for (size_t i = base; i < keys_.size(); ++i) {
      const KeyRec& k = keys_[i];
      if (k.key_len == n && std::memcmp(key_store_.data() + k.key_off, key, n) == 0) {
        found = static_cast<long>(i);
        break;
      }
    }
  }
  if (found >= 0) {
    KeyRec& k = keys_[static_cast<size_t>(found)];
    for (uint32_t e = k.first; e < k.last; ++e) dead_[e] = 1;
    k.first = first;
    return static_cast<size_t>(found);
  }
  KeyRec rec{static_cast<uint32_t>(key_store_.size()), static_cast<uint32_t>(n), first, first};
  key_store_.append(reinterpret_cast<const char*>(key), n);
  keys_.push_back(rec);
  const size_t slot = keys_.size() - 1;
  const size_t count = keys_.size() - base;
  if (indexed) {
    indexes_.back().emplace(std::string(reinterpret_cast<const char*>(key), n), static_cast<uint32_t>(slot));
  } else if (count > kLinearKeys) {
    index_bases_.push_back(base);
    indexes_.emplace_back();
    auto& idx = indexes_.back();
    for (size_t i = base; i < keys_.size(); ++i) {
      idx.emplace(key_store_.substr(keys_[i].key_off, keys_[i].key_len), static_cast<uint32_t>(i));
    }
  }
  return slot;
}

void Flattener::Head(uint8_t major, uint64_t v) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (v < 24) {
    arena_.push_back(static_cast<uint8_t>(m | v));
  } else if (v <= 0xFF) {
    arena_.push_back(m | 24);
    arena_.push_back(static_cast<uint8_t>(v));
  } else if (v <= 0xFFFF) {
    arena_.push_back(m | 25);
    arena_.push_back(static_cast<uint8_t>(v >> 8));
    arena_.push_back(static_cast<uint8_t>(v));
  } else if (v <= 0xFFFFFFFFull) {
    arena_.push_back(m | 26);
    for (int s = 24; s >= 0; s -= 8) arena_.push_back(static_cast<uint8_t>(v >> s));
  } else {
    arena_.push_back(m | 27);
    for (int s = 56; s >= 0; s -= 8) arena_.push_back(static_cast<uint8_t>(v >> s));
  }
}

void Flattener::BeginLeaf() {
  // The path goes into the arena right before its value.
  arena_.insert(arena_.end(), path_.begin(), path_.end());
}

void Flattener::EndLeaf(uint32_t val_off) {
  const uint32_t plen = static_cast<uint32_t>(path_.size());
  entries_.push_back(Entry{val_off - plen, plen, val_off, static_cast<uint32_t>(arena_.size()) - val_off, 0});
  dead_.push_back(0);
}

void Flattener::LeafSimple(uint8_t byte) {
  BeginLeaf();
  const uint32_t off = static_cast<uint32_t>(arena_.size());
  arena_.push_back(byte);
  EndLeaf(off);
}

void Flattener::LeafDouble(double d) {
  if (!std::isfinite(d)) {
    Violation(kNonFinite);
    return;
  }
  if (d == std::trunc(d) && std::fabs(d) <= kMaxSafe && !(d == 0 && std::signbit(d))) {
    if (d >= 0) {
      LeafUint(static_cast<uint64_t>(d));
    } else {
      LeafNint(static_cast<uint64_t>(-d) - 1);
    }
    return;
  }
  BeginLeaf();
  const uint32_t off = static_cast<uint32_t>(arena_.size());
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  arena_.push_back(0xFB);
  for (int s = 56; s >= 0; s -= 8) arena_.push_back(static_cast<uint8_t>(bits >> s));
  EndLeaf(off);
}

void Flattener::LeafUint(uint64_t v) {
  BeginLeaf();
  const uint32_t off = static_cast<uint32_t>(arena_.size());
  Head(0, v);
  EndLeaf(off);
}

void Flattener::LeafNint(uint64_t n) {
  BeginLeaf();
  const uint32_t off = static_cast<uint32_t>(arena_.size());
  Head(1, n);
  EndLeaf(off);
}

void Flattener::LeafBytes(uint8_t major, const uint8_t* p, size_t n) {
  BeginLeaf();
  const uint32_t off = static_cast<uint32_t>(arena_.size());
  Head(major, n);
  arena_.insert(arena_.end(), p, p + n);
  EndLeaf(off);
}

void Flattener::LeafWtf8Text(const uint8_t* p, size_t n) {
  BeginLeaf();
  const uint32_t off = static_cast<uint32_t>(arena_.size());
  const uint8_t* end = p + n;
  size_t surrogates = 0;
  for (const uint8_t* q = p; q < end; ++q) {
    if (*q == 0xED && IsWtf8Surrogate(q, end)) ++surrogates;
  }
  Head(3, n);  // U+FFFD is 3 bytes too: the length does not change
  if (surrogates == 0) {
    arena_.insert(arena_.end(), p, end);
  } else {
    for (const uint8_t* q = p; q < end;) {
      if (*q == 0xED && IsWtf8Surrogate(q, end)) {
        arena_.push_back(0xEF);
        arena_.push_back(0xBF);
        arena_.push_back(0xBD);
        q += 3;
      } else {
        arena_.push_back(*q++);
      }
    }
  }
  EndLeaf(off);
}

void Flattener::Violation(int32_t status) {
  entries_.push_back(Entry{0, 0, 0, 0, status});
  dead_.push_back(0);
}

int32_t Flattener::Finish(const Limits& limits, std::vector<uint32_t>& order) {
  order.clear();
  int best = 9;
  int32_t best_status = kOk;
  auto note = [&](int32_t st) {
    int r = Rank(st);
    if (r < best) {
      best = r;
      best_status = st;
    }
  };
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    if (dead_[i]) continue;
    const Entry& e = entries_[i];
    if (e.kind != 0) {
      note(e.kind);
      continue;
    }
    if (e.path_len > kMaxMemberNameLen) note(kPathTooLong);
    order.push_back(i);
  }
  if (best <= Rank(kPathTooLong)) return best_status;
  const uint8_t* a = arena_.data();
  const Entry* es = entries_.data();
  std::sort(order.begin(), order.end(), [a, es](uint32_t x, uint32_t y) {
    const Entry& ex = es[x];
    const Entry& ey = es[y];
    const uint32_t n = std::min(ex.path_len, ey.path_len);
    const int c = std::memcmp(a + ex.path_off, a + ey.path_off, n);
    return c != 0 ? c < 0 : ex.path_len < ey.path_len;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const Entry& ex = es[order[i - 1]];
    const Entry& ey = es[order[i]];
    if (ex.path_len == ey.path_len && std::memcmp(a + ex.path_off, a + ey.path_off, ex.path_len) == 0) {
      // Two distinct keys with the same UTF-8 form (lone surrogates): ambiguous.
      note(kUnsupportedValue);
      break;
    }
  }
  if (order.size() > limits.max_fields) note(kTooManyFields);
  return best_status;
}

}  // namespace lmj
