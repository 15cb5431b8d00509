// Reads TxnWrap::txn and EnvWrap::writeTxn with lmdb-js's own class definitions (see
// lmdbjs-txn.h). Nothing of lmdb-js's node-addon-api is instantiated here: only public
// fields are read (and EnvWrap::hasWrites set).
#include "lmdbjs-txn.h"

#include "lmdb-js.h"

namespace lmj {

MDB_txn* LmdbJsTxn(int64_t txn_wrap_address) {
  if (txn_wrap_address == 0) return nullptr;
  return reinterpret_cast<TxnWrap*>(static_cast<intptr_t>(txn_wrap_address))->txn;
}

MDB_txn* LmdbJsWriteTxn(int64_t env_wrap_address) {
  if (env_wrap_address == 0) return nullptr;
  EnvWrap* ew = reinterpret_cast<EnvWrap*>(static_cast<intptr_t>(env_wrap_address));
  if (ew->env == nullptr || ew->writeTxn == nullptr || ew->writeTxn->txn == nullptr) return nullptr;
  ew->hasWrites = true;
  return ew->writeTxn->txn;
}

}  // namespace lmj
