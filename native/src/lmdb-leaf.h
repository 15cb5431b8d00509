// Direct reads of the leaf page an LMDB cursor stands on, for the native reading scan
// (scan.cc): the nodes after the cursor's one are read in place, so the members of
// consecutive readings (consecutive keys of `main`) cost no B-tree search each.
// Implemented in lmdb-leaf.c, which compiles liblmdb's mdb.c itself and so reads pages
// with liblmdb's own definitions of its page and node layout.
#ifndef LMJ_LMDB_LEAF_H
#define LMJ_LMDB_LEAF_H

#include "lmdb.h"

#ifdef __cplusplus
extern "C" {
#endif

// A leaf page of a read transaction (valid until the transaction ends).
typedef struct lmj_leaf {
  const void* page;
  unsigned nkeys;
} lmj_leaf;

// The leaf page and node index of a positioned cursor; 0, or -1 when the cursor is not
// on an ordinary leaf page (then read through the cursor API instead).
int lmj_cursor_leaf(MDB_cursor* mc, lmj_leaf* leaf, unsigned* index);

// Node `index` (< nkeys) of `leaf`: its key and, for a value stored in the node, the
// value (1); 0 when the value is elsewhere (overflow page, sub-database): read it with
// mdb_get.
int lmj_leaf_node(const lmj_leaf* leaf, unsigned index, MDB_val* key, MDB_val* data);

#ifdef __cplusplus
}
#endif

#endif
