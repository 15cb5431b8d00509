// JSON payloads: a non-recursive validator (syntax, UTF-8, depth of the raw
// text) and a recursive walker that feeds a validated document to a Flattener.
#pragma once
#include <cstddef>
#include <cstdint>

#include "flattener.h"

namespace lmj {

// Validates the whole text with JSON.parse's grammar. Returns kOk or kBadJson;
// sets the deepest container nesting and whether the top value is an object.
int32_t JsonValidate(const uint8_t* p, size_t n, uint32_t* max_depth, bool* top_is_object);

// Walks a document JsonValidate() accepted, whose top value is an object.
void JsonWalk(const uint8_t* p, size_t n, Flattener& f);

}  // namespace lmj
