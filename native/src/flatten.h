// Flattening one payload: format detection, the format-level rules in their
// precedence order (docs/codec.md §7), then the walk and the final-tree rules.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "flattener.h"

namespace lmj {

enum Format : int32_t { kJson = 0, kCbor = 1, kAuto = 2 };

// Flattens one payload into `f`; on kOk, `order` lists the leaves in path order.
int32_t FlattenOne(const uint8_t* p, size_t n, int32_t format, const Limits& limits, Flattener& f,
                   std::vector<uint32_t>& order);

}  // namespace lmj
