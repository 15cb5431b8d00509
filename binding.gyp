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
        "native/src/pointer.cc",
        "native/src/scan.cc",
        "native/src/scan-args.cc",
        "native/src/aggregate.cc",
        "native/src/write.cc",
        "native/src/malloc-tune.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "node_modules/lmdb/dependencies/lmdb-data-v1/libraries/liblmdb"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        # A throw from the addon while a worker thread's environment is being torn down
        # (the apply worker ended mid-group) is dropped instead of aborting the process.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-std=gnu++17"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O2",
        "-Wall",
        "-Wextra",
        "-fno-exceptions"
      ],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO"
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "ExceptionHandling": 0
        }
      },
      "dependencies": [
        "lmj_lmdb_scan"
      ]
    },
    {
      "target_name": "lmj_lmdb_scan",
      "type": "static_library",
      "sources": [
        "native/src/lmdbjs-txn.cc",
        "native/src/lmdb-leaf.c",
        "node_modules/lmdb/dependencies/lmdb-data-v1/libraries/liblmdb/midl.c"
      ],
      "include_dirs": [
        "node_modules/lmdb/dependencies/lmdb-data-v1/libraries/liblmdb",
        "node_modules/lmdb/src",
        "node_modules/lmdb/dependencies/lz4/lib",
        "node_modules/lmdb/dependencies/lmdb/libraries/liblmdb",
        "node_modules/lmdb/node_modules/node-addon-api"
      ],
      "defines": [
        "MDB_MAXKEYSIZE=0",
        "MDB_USE_ROBUST",
        "ENABLE_V8_API=1",
        "NAPI_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags": [
        "-fPIC",
        "-fvisibility=hidden",
        "-O2",
        "-w"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-std=gnu++17"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-fPIC",
        "-fvisibility=hidden",
        "-O2",
        "-w"
      ]
    }
  ]
}
