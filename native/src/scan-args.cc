// Argument helpers of the native reading scan (see scan-args.h).
#include "scan-args.h"

#include "status.h"

namespace lmj {

napi_value Int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

bool BytesOf(napi_env env, napi_value v, Bytes* out, napi_typedarray_type want) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return false;
  if (type != want) return false;
  out->data = static_cast<uint8_t*>(data);
  out->len = length * (want == napi_float64_array ? 8 : 1);
  return true;
}

bool OptionalBytes(napi_env env, napi_value v, Bytes* out, bool* present) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  *present = !(t == napi_null || t == napi_undefined);
  return !*present || BytesOf(env, v, out);
}

bool ParseMembers(napi_env env, napi_value arr, std::vector<Bytes>* out) {
  bool is = false;
  if (napi_is_array(env, arr, &is) != napi_ok || !is) return false;
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  out->resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !BytesOf(env, v, &(*out)[i])) return false;
    if ((*out)[i].len == 0 || (*out)[i].len > kMaxMemberNameLen) return false;
  }
  return true;
}

}  // namespace lmj
