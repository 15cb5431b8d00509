// Native member writes inside lmdb-js's own write transaction: the puts of one object
// (existence marker, names in `set`, values in `main`) in one call instead of one
// lmdb-js put each (docs/storage.md, Native writes).
#ifndef LMJ_WRITE_H
#define LMJ_WRITE_H

#include <node_api.h>

namespace lmj {

// writeMembers(envAddress, setDbi, mainDbi, ops: Uint8Array, length) -> names newly
// registered (>= 0), or < 0: an LMDB return code (-30799..-30780), a status of
// src/errors.ts (<= -32000), or -errno. Layout of ops in write.cc.
napi_value WriteMembers(napi_env env, napi_callback_info info);

// lmdbError(rc) -> liblmdb's message for a return code.
napi_value LmdbError(napi_env env, napi_callback_info info);

}  // namespace lmj

#endif
