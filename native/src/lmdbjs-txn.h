// Access to the LMDB transaction behind an lmdb-js (lmdb@3) read transaction, for the
// native reading scan. Built in its own static library against lmdb-js's own headers
// (lmdb-js.h, its node-addon-api) so the TxnWrap layout is lmdb-js's, not a copy.
#ifndef LMJ_LMDBJS_TXN_H
#define LMJ_LMDBJS_TXN_H

#include <cstdint>

#include "lmdb.h"

namespace lmj {

// The MDB_txn of an lmdb-js TxnWrap (`Transaction.address` in JavaScript).
MDB_txn* LmdbJsTxn(int64_t txn_wrap_address);

}  // namespace lmj

#endif
