#include "cbor.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "utf8.h"

namespace lmj {

namespace {

struct Frame {
  uint64_t total;     // items expected (2 per map entry); unused when indefinite
  uint64_t consumed;  // items completed so far
  bool indefinite;
  bool is_map;
};

// Reads the argument of a head whose additional info is ai (< 28). False when truncated.
inline bool ReadArg(const uint8_t*& p, const uint8_t* end, uint8_t ai, uint64_t* v) {
  if (ai < 24) {
    *v = ai;
    return true;
  }
  const size_t len = size_t{1} << (ai - 24);
  if (static_cast<size_t>(end - p) < len) return false;
  uint64_t x = 0;
  for (size_t i = 0; i < len; ++i) x = (x << 8) | p[i];
  p += len;
  *v = x;
  return true;
}

double HalfToDouble(uint16_t h) {
  const int exp = (h >> 10) & 0x1F;
  const int mant = h & 0x3FF;
  double v;
  if (exp == 0) {
    v = std::ldexp(mant, -24);
  } else if (exp != 31) {
    v = std::ldexp(mant + 1024, exp - 25);
  } else {
    v = mant == 0 ? INFINITY : NAN;
  }
  return (h & 0x8000) ? -v : v;
}

class Walker {
 public:
  Walker(const uint8_t* p, size_t n, Flattener& f) : p_(p), end_(p + n), f_(f) {}

  void Top() { Value(true); }

 private:
  uint64_t Head(uint8_t* major, uint8_t* ai) {
    const uint8_t ib = *p_++;
    *major = ib >> 5;
    *ai = ib & 0x1F;
    uint64_t v = 0;
    if (*ai < 28) ReadArg(p_, end_, *ai, &v);
    return v;
  }

  void Value(bool top = false) {
    uint8_t major, ai;
    const uint64_t v = Head(&major, &ai);
    switch (major) {
      case 0: f_.LeafUint(v); return;
      case 1: f_.LeafNint(v); return;
      case 2:
      case 3:
        if (ai == 31) {
          const std::vector<uint8_t>& s = Chunks();
          f_.LeafBytes(major, s.data(), s.size());
          return;
        }
        f_.LeafBytes(major, p_, v);
        p_ += v;
        return;
      case 4: Array(ai == 31, v); return;
      case 5: Map(ai == 31, v, top); return;
      default: break;
    }
    switch (ai) {
      case 20: f_.LeafSimple(0xF4); return;
      case 21: f_.LeafSimple(0xF5); return;
      case 22: f_.LeafSimple(0xF6); return;
      case 23: f_.LeafSimple(0xF7); return;
      case 25: f_.LeafDouble(HalfToDouble(static_cast<uint16_t>(v))); return;
      case 26: {
        float x;
        const uint32_t b = static_cast<uint32_t>(v);
        std::memcpy(&x, &b, 4);
        f_.LeafDouble(static_cast<double>(x));
        return;
      }
      default: {
        double x;
        std::memcpy(&x, &v, 8);
        f_.LeafDouble(x);
        return;
      }
    }
  }

  // Joins the chunks of an indefinite-length string (its head already read) into
  // joined_, so it is stored as its definite encoding. Valid until the next call.
  const std::vector<uint8_t>& Chunks() {
    joined_.clear();
    // data() of an empty vector may be null; keys and leaves need a real pointer.
    if (joined_.capacity() == 0) joined_.reserve(64);
    while (*p_ != 0xFF) {
      uint8_t major, ai;
      const uint64_t len = Head(&major, &ai);
      joined_.insert(joined_.end(), p_, p_ + len);
      p_ += len;
    }
    ++p_;
    return joined_;
  }

  bool More(bool indefinite, uint64_t i, uint64_t n) {
    if (!indefinite) return i < n;
    if (*p_ == 0xFF) {
      ++p_;
      return false;
    }
    return true;
  }

  void Array(bool indefinite, uint64_t n) {
    const size_t plen = f_.PathLen();
    uint64_t i = 0;
    for (; More(indefinite, i, n); ++i) {
      f_.AppendIndex(i);
      Value();
      f_.TruncatePath(plen);
    }
    if (i == 0) f_.LeafSimple(0x80);
  }

  void Map(bool indefinite, uint64_t n, bool top) {
    const size_t base = f_.BeginMap();
    const size_t plen = f_.PathLen();
    uint64_t i = 0;
    for (; More(indefinite, i, n); ++i) {
      uint8_t major, ai;
      uint64_t klen = Head(&major, &ai);
      const uint8_t* key = p_;
      if (ai == 31) {
        // KeyStart and AppendKey copy the key before Value() can reuse joined_.
        const std::vector<uint8_t>& s = Chunks();
        key = s.data();
        klen = s.size();
      } else {
        p_ += klen;
      }
      const size_t slot = f_.KeyStart(base, key, klen);
      if (klen == 0) f_.Violation(kEmptyKey);
      f_.AppendKey(key, klen, top);
      Value();
      f_.TruncatePath(plen);
      f_.KeyEnd(slot);
    }
    f_.EndMap(base);
    if (i == 0 && !top) f_.LeafSimple(0xA0);
  }

  const uint8_t* p_;
  const uint8_t* end_;
  Flattener& f_;
  std::vector<uint8_t> joined_;
};

}  // namespace

int32_t CborValidate(const uint8_t* p, size_t n, CborScan* scan) {
  const uint8_t* end = p + n;
  std::vector<Frame> stack;
  bool top_done = false;
  bool first = true;
  // A finished container counts as one item of its parent (or ends the top level).
  auto pop_frame = [&stack, &top_done]() {
    stack.pop_back();
    if (stack.empty()) {
      top_done = true;
    } else {
      stack.back().consumed++;
    }
  };
  for (;;) {
    if (!stack.empty()) {
      Frame& fr = stack.back();
      if (!fr.indefinite && fr.consumed == fr.total) {
        pop_frame();
        continue;
      }
    } else if (top_done) {
      break;
    }
    if (p >= end) return kBadCbor;
    const uint8_t ib = *p++;
    const uint8_t major = ib >> 5;
    const uint8_t ai = ib & 0x1F;
    if (first) {
      scan->top_major = major;
      first = false;
    }
    if (ib == 0xFF) {
      if (stack.empty() || !stack.back().indefinite) return kBadCbor;
      if (stack.back().is_map && (stack.back().consumed & 1) != 0) return kBadCbor;
      pop_frame();
      continue;
    }
    const bool is_key = !stack.empty() && stack.back().is_map && (stack.back().consumed & 1) == 0;
    if (is_key && major != 3) scan->unsupported = true;
    if (ai >= 28 && ai <= 30) return kBadCbor;
    const bool indefinite = ai == 31;
    if (indefinite && (major < 2 || major > 5)) return kBadCbor;
    uint64_t v = 0;
    if (!indefinite && !ReadArg(p, end, ai, &v)) return kBadCbor;
    switch (major) {
      case 0:
      case 1:
        break;
      case 2:
      case 3:
        if (!indefinite) {
          if (static_cast<uint64_t>(end - p) < v) return kBadCbor;
          if (major == 3 && !ValidUtf8(p, v)) return kBadCbor;
          p += v;
          break;
        }
        // Chunks must be definite strings of the same major type, each text chunk
        // valid UTF-8 on its own (RFC 8949 §3.2.3); the walker joins them.
        for (;;) {
          if (p >= end) return kBadCbor;
          const uint8_t cb = *p++;
          if (cb == 0xFF) break;
          if ((cb >> 5) != major || (cb & 0x1F) >= 28) return kBadCbor;
          uint64_t len;
          if (!ReadArg(p, end, cb & 0x1F, &len)) return kBadCbor;
          if (static_cast<uint64_t>(end - p) < len) return kBadCbor;
          if (major == 3 && !ValidUtf8(p, len)) return kBadCbor;
          p += len;
        }
        break;
      case 4:
      case 5: {
        const uint64_t per = major == 5 ? 2 : 1;
        // Every item takes at least one byte, so a longer count is truncated input.
        if (!indefinite && v > static_cast<uint64_t>(end - p) / per) return kBadCbor;
        stack.push_back(Frame{v * per, 0, indefinite, major == 5});
        if (stack.size() > scan->max_depth) scan->max_depth = static_cast<uint32_t>(stack.size());
        continue;
      }
      case 6:
        // The tagged item fills the same slot: do not count the tag as an item.
        scan->unsupported = true;
        continue;
      default:
        if (ai < 20) {
          scan->unsupported = true;
        } else if (ai == 24) {
          if (v < 32) return kBadCbor;
          scan->unsupported = true;
        }
        break;
    }
    if (stack.empty()) {
      top_done = true;
    } else {
      stack.back().consumed++;
    }
  }
  return p == end ? kOk : kBadCbor;
}

void CborWalk(const uint8_t* p, size_t n, Flattener& f) {
  Walker w(p, n, f);
  w.Top();
}

}  // namespace lmj
