/* liblmdb (the sources lmdb-js is built from) plus the leaf-page accessors of
 * lmdb-leaf.h. mdb.c is compiled here, once, so the accessors use its own MDB_page,
 * MDB_node and cursor definitions instead of copies of them. */
#include "mdb.c"

#include "lmdb-leaf.h"

int lmj_cursor_leaf(MDB_cursor* mc, lmj_leaf* leaf, unsigned* index) {
  if (!(mc->mc_flags & C_INITIALIZED) || mc->mc_snum == 0) return -1;
  MDB_page* mp = mc->mc_pg[mc->mc_top];
  /* Only ordinary leaves: no LEAF2 (fixed-size duplicates) or sub-pages. */
  if ((mp->mp_flags & (P_LEAF | P_LEAF2 | P_SUBP | P_BRANCH | P_OVERFLOW)) != P_LEAF) return -1;
  leaf->page = mp;
  leaf->nkeys = NUMKEYS(mp);
  *index = mc->mc_ki[mc->mc_top];
  return *index < leaf->nkeys ? 0 : -1;
}

int lmj_leaf_node(const lmj_leaf* leaf, unsigned index, MDB_val* key, MDB_val* data) {
  MDB_page* mp = (MDB_page*)leaf->page;
  MDB_node* node = NODEPTR(mp, index);
  key->mv_size = NODEKSZ(node);
  key->mv_data = NODEKEY(node);
  if (node->mn_flags & (F_BIGDATA | F_SUBDATA | F_DUPDATA)) return 0;
  data->mv_size = NODEDSZ(node);
  data->mv_data = NODEDATA(node);
  return 1;
}
