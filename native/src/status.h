// Status numbers shared with src/errors.ts (ERROR_CODES[...].errno). Native code
// never throws: every entry point returns one of these and TypeScript turns it
// into an LmjError with fromStatus().
#pragma once
#include <cstdint>

namespace lmj {

enum Status : int32_t {
  kOk = 0,
  kInvalidParam = -32000,
  kMemberTooLong = -32002,
  kInvalidPointer = -32003,
  kBadJson = -33100,
  kBadCbor = -33101,
  kNotAnObject = -33102,
  kTooDeep = -33103,
  kTooManyFields = -33104,
  kPathTooLong = -33105,
  kNonFinite = -33106,
  kEmptyKey = -33107,
  kUnsupportedValue = -33109,
  kIntegerOutOfRange = -33111,
  kStoreCorrupt = -33003,
  kNoWriteTxn = -33630,
  kScanFailed = -33660,
};

constexpr uint32_t kPtrLen = 17;
constexpr uint32_t kMaxMemberNameLen = 493;

}  // namespace lmj
