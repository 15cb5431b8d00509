// Reads TxnWrap::txn with lmdb-js's own class definition (see lmdbjs-txn.h). Nothing
// of lmdb-js's node-addon-api is instantiated here: only a public field is read.
#include "lmdbjs-txn.h"

#include "lmdb-js.h"

namespace lmj {

MDB_txn* LmdbJsTxn(int64_t txn_wrap_address) {
  if (txn_wrap_address == 0) return nullptr;
  return reinterpret_cast<TxnWrap*>(static_cast<intptr_t>(txn_wrap_address))->txn;
}

}  // namespace lmj
