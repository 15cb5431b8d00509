// Access to the LMDB transactions behind lmdb-js (lmdb@3): a read transaction, for the
// native reading scan, and the write transaction an environment has open, for the
// native member writes. Built in its own static library against lmdb-js's own headers
// (lmdb-js.h, its node-addon-api) so the TxnWrap layout is lmdb-js's, not a copy.
#ifndef LMJ_LMDBJS_TXN_H
#define LMJ_LMDBJS_TXN_H

#include <cstdint>

#include "lmdb.h"

namespace lmj {

// The MDB_txn of an lmdb-js TxnWrap (`Transaction.address` in JavaScript).
MDB_txn* LmdbJsTxn(int64_t txn_wrap_address);

// The MDB_txn of the write transaction (or innermost child transaction) an lmdb-js
// EnvWrap (`env.address` in JavaScript) has open, or nullptr when none is. Marks the
// environment as written, as lmdb-js's own writes do.
MDB_txn* LmdbJsWriteTxn(int64_t env_wrap_address);

}  // namespace lmj

#endif
