// CBOR payloads (RFC 8949): a non-recursive well-formedness check that also
// measures the raw nesting and finds what we do not support, and a recursive
// walker that feeds a checked document to a Flattener.
#pragma once
#include <cstddef>
#include <cstdint>

#include "flattener.h"

namespace lmj {

struct CborScan {
  uint32_t max_depth = 0;
  uint8_t top_major = 0xFF;
  // A tag, a non-text map key, or a simple value
  // other than false/true/null/undefined somewhere in the document.
  bool unsupported = false;
};

// Checks the whole document is one well-formed CBOR item. kOk or kBadCbor.
int32_t CborValidate(const uint8_t* p, size_t n, CborScan* scan);

// Walks a document CborValidate() accepted with a map on top and nothing unsupported.
void CborWalk(const uint8_t* p, size_t n, Flattener& f);

}  // namespace lmj
