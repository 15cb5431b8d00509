// glibc malloc settings and statistics (malloc-tune.cc).
#pragma once

#include <node_api.h>

namespace lmj {

napi_value MallocTune(napi_env env, napi_callback_info info);
napi_value MallocStats(napi_env env, napi_callback_info info);
napi_value MallocTrim(napi_env env, napi_callback_info info);

}  // namespace lmj
