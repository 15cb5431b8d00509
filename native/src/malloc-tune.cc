// glibc malloc settings and statistics for the daemon (src/codec/malloc.ts; docs/daemon.md,
// *Memory*). Plain Node-API C, registered by addon.cc. Elsewhere than glibc every call
// reports "not supported" (mallocTune returns false, mallocStats undefined).
#include <node_api.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define LMJ_GLIBC_MALLOC 1
#include <malloc.h>
#endif

#include "malloc-tune.h"

namespace lmj {

// mallocTune(mmapThresholdBytes, arenaMax) → boolean. A threshold > 0 fixes
// M_MMAP_THRESHOLD (glibc otherwise raises it to the size of every large block freed, so
// later large blocks come from the heap, where freed space is rarely returned) and with it
// the trim threshold; arenaMax > 0 caps the arenas the threads get. 0 leaves either alone.
napi_value MallocTune(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  int32_t threshold = 0;
  int32_t arenas = 0;
  bool ok = napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) == napi_ok && argc == 2 &&
            napi_get_value_int32(env, a[0], &threshold) == napi_ok && napi_get_value_int32(env, a[1], &arenas) == napi_ok &&
            threshold >= 0 && arenas >= 0;
#ifdef LMJ_GLIBC_MALLOC
  if (ok && threshold > 0) ok = mallopt(M_MMAP_THRESHOLD, threshold) == 1 && mallopt(M_TRIM_THRESHOLD, threshold) == 1;
  if (ok && arenas > 0) ok = mallopt(M_ARENA_MAX, arenas) == 1;
#else
  ok = false;
#endif
  napi_value out = nullptr;
  napi_get_boolean(env, ok, &out);
  return out;
}

// mallocStats() → [heapBytes, inUseBytes, freeBytes, mmappedBytes] | undefined:
// mallinfo2's arena (bytes the arenas took from the system, brk and thread heaps),
// uordblks, fordblks and hblkhd (blocks served by their own mmap).
napi_value MallocStats(napi_env env, napi_callback_info) {
  napi_value out = nullptr;
#ifdef LMJ_GLIBC_MALLOC
  const struct mallinfo2 mi = mallinfo2();
  const double v[4] = {static_cast<double>(mi.arena), static_cast<double>(mi.uordblks), static_cast<double>(mi.fordblks),
                       static_cast<double>(mi.hblkhd)};
  napi_create_array_with_length(env, 4, &out);
  for (uint32_t i = 0; i < 4; ++i) {
    napi_value n = nullptr;
    napi_create_double(env, v[i], &n);
    napi_set_element(env, out, i, n);
  }
#else
  napi_get_undefined(env, &out);
#endif
  return out;
}

// mallocTrim() → boolean: malloc_trim(0), which returns the free pages inside every arena,
// not only the top of the main heap; true when memory was released.
napi_value MallocTrim(napi_env env, napi_callback_info) {
  bool released = false;
#ifdef LMJ_GLIBC_MALLOC
  released = malloc_trim(0) == 1;
#endif
  napi_value out = nullptr;
  napi_get_boolean(env, released, &out);
  return out;
}

}  // namespace lmj
