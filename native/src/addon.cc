// Node-API surface of lmj_edge_native. Arguments are checked by the TypeScript
// wrapper (src/codec/native/); here a wrong argument or a broken rule comes back
// as a status number from src/errors.ts, never as a C++ exception.
#include <napi.h>

#include <unistd.h>

#include <cstring>
#include <vector>

#include "flatten.h"
#include "malloc-tune.h"
#include "pointer.h"
#include "scan.h"
#include "status.h"
#include "write.h"

namespace lmj {

// exitNow(code): ends the process at once with `code` (_exit). process.exit() runs exit
// handlers and joins libuv's threadpool, where an lmdb-js commit waiting for the JS
// thread never finishes: a daemon told to stop "now" must not wait for anything.
static napi_value ExitNow(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  int32_t code = 1;
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) == napi_ok && argc >= 1) napi_get_value_int32(env, a[0], &code);
  _exit(code);
}

class NativeAddon : public Napi::Addon<NativeAddon> {
 public:
  NativeAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceMethod("partitionOf", &NativeAddon::Partition),
                             InstanceMethod("formatPointer", &NativeAddon::Format),
                             InstanceMethod("parsePointer", &NativeAddon::Parse),
                             InstanceMethod("flattenBatch", &NativeAddon::FlattenBatch),
                         });
    // The reading scan is plain Node-API C (scan.cc), registered beside the methods.
    exports.Set("scanReadings", CFunction(env, "scanReadings", ScanReadings));
    exports.Set("aggregateReadings", CFunction(env, "aggregateReadings", AggregateReadings));
    exports.Set("lmdbVersion", CFunction(env, "lmdbVersion", LmdbVersion));
    exports.Set("writeMembers", CFunction(env, "writeMembers", WriteMembers));
    exports.Set("lmdbError", CFunction(env, "lmdbError", LmdbError));
    exports.Set("exitNow", CFunction(env, "exitNow", ExitNow));
    exports.Set("mallocTune", CFunction(env, "mallocTune", MallocTune));
    exports.Set("mallocStats", CFunction(env, "mallocStats", MallocStats));
    exports.Set("mallocTrim", CFunction(env, "mallocTrim", MallocTrim));
  }

 private:
  static Napi::Value Status(Napi::Env env, int32_t st) { return Napi::Number::New(env, st); }

  static Napi::Value CFunction(Napi::Env env, const char* name, napi_callback cb) {
    napi_value fn = nullptr;
    napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn);
    return Napi::Value(env, fn);
  }

  // Takes the device id's UTF-8 bytes (the wrapper encodes; lone surrogates → U+FFFD).
  Napi::Value Partition(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsTypedArray()) return Status(info.Env(), kInvalidParam);
    auto a = info[0].As<Napi::Uint8Array>();
    return Napi::Number::New(info.Env(), PartitionOf(a.Data(), a.ByteLength()));
  }

  Napi::Value Format(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsTypedArray()) return Status(info.Env(), kInvalidPointer);
    auto a = info[0].As<Napi::Uint8Array>();
    if (!ValidPointer(a.Data(), a.ByteLength())) return Status(info.Env(), kInvalidPointer);
    char hex[34];
    FormatHex(a.Data(), hex);
    return Napi::String::New(info.Env(), hex, 34);
  }

  Napi::Value Parse(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsString()) return Status(info.Env(), kInvalidPointer);
    // UTF-16 code units, not latin1: latin1 conversion keeps only the low byte,
    // which would turn e.g. U+0161 into 'a'.
    char16_t wide[36];
    size_t full = 0;
    if (napi_get_value_string_utf16(info.Env(), info[0], wide, 36, &full) != napi_ok) {
      return Status(info.Env(), kInvalidPointer);
    }
    char buf[34];
    size_t len = full == 34 ? 34 : 0;
    for (size_t i = 0; i < len; ++i) {
      if (wide[i] >= 0x80) return Status(info.Env(), kInvalidPointer);
      buf[i] = static_cast<char>(wide[i]);
    }
    uint8_t out[kPtrLen];
    if (full != 34 || !ParseHex(buf, len, out) || !ValidPointer(out, kPtrLen)) return Status(info.Env(), kInvalidPointer);
    return Napi::Buffer<uint8_t>::Copy(info.Env(), out, kPtrLen);
  }

  // flattenBatch(payloads: Uint8Array[], format, maxDepth, maxFields) → Buffer:
  //   int32 words: [0] = W (words in the table), then per payload
  //   [status, count, firstEntry], then per entry [pathOff, pathLen, valOff, valLen];
  //   from byte 4·W on, the path and value bytes the offsets point into.
  Napi::Value FlattenBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
      return Status(env, kInvalidParam);
    }
    auto arr = info[0].As<Napi::Array>();
    const int32_t format = info[1].As<Napi::Number>().Int32Value();
    Limits limits{info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value()};
    const uint32_t n = arr.Length();
    table_.assign(1 + 3 * static_cast<size_t>(n), 0);
    data_.clear();
    uint32_t entry_count = 0;
    for (uint32_t i = 0; i < n; ++i) {
      napi_value el;
      napi_get_element(env, arr, i, &el);
      bool is_ta = false;
      napi_is_typedarray(env, el, &is_ta);
      int32_t st = kInvalidParam;
      uint32_t count = 0;
      if (is_ta) {
        napi_typedarray_type t;
        size_t len;
        void* d;
        napi_get_typedarray_info(env, el, &t, &len, &d, nullptr, nullptr);
        if (t == napi_uint8_array) {
          st = FlattenOne(static_cast<const uint8_t*>(d), len, format, limits, flat_, order_);
          if (st == kOk) count = Emit();
        }
      }
      table_[1 + 3 * i] = st;
      table_[2 + 3 * i] = static_cast<int32_t>(count);
      table_[3 + 3 * i] = static_cast<int32_t>(entry_count);
      entry_count += count;
    }
    const size_t words = table_.size() + entries_.size();
    table_[0] = static_cast<int32_t>(words);
    auto out = Napi::Buffer<uint8_t>::New(env, words * 4 + data_.size());
    uint8_t* o = out.Data();
    std::memcpy(o, table_.data(), table_.size() * 4);
    if (!entries_.empty()) std::memcpy(o + table_.size() * 4, entries_.data(), entries_.size() * 4);
    if (!data_.empty()) std::memcpy(o + words * 4, data_.data(), data_.size());
    entries_.clear();
    return out;
  }

  // Appends the flattened leaves of flat_ (in order_) to data_/entries_.
  uint32_t Emit() {
    const auto& arena = flat_.arena();
    const auto& es = flat_.entries();
    for (uint32_t idx : order_) {
      const Entry& e = es[idx];
      // Path and value sit next to each other in the arena: copy them at once.
      const uint32_t off = static_cast<uint32_t>(data_.size());
      data_.insert(data_.end(), arena.begin() + e.path_off, arena.begin() + e.val_off + e.val_len);
      entries_.push_back(static_cast<int32_t>(off));
      entries_.push_back(static_cast<int32_t>(e.path_len));
      entries_.push_back(static_cast<int32_t>(off + e.path_len));
      entries_.push_back(static_cast<int32_t>(e.val_len));
    }
    return static_cast<uint32_t>(order_.size());
  }

  Flattener flat_;
  std::vector<uint32_t> order_;
  std::vector<int32_t> table_;
  std::vector<int32_t> entries_;
  std::vector<uint8_t> data_;
};

}  // namespace lmj

using lmj::NativeAddon;
NODE_API_ADDON(NativeAddon)
