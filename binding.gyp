{
  "targets": [
    {
      "target_name": "lmj_edge_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/cbor.cc",
        "native/src/flatten.cc",
        "native/src/flattener.cc",
        "native/src/json.cc",
        "native/src/pointer.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fno-exceptions"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO"
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 0 } }
    }
  ]
}
