/* What the files of chain/ that touch the database share (ledger.c, nodes.c);
 * nothing outside chain/ includes it. */
#ifndef TLO_CHAIN_LEDGER_INTERNAL_H
#define TLO_CHAIN_LEDGER_INTERNAL_H

#include "chain.h"
#include "merkle.h"

#include <sqlite3.h>

struct tlo_chain {
    sqlite3 *db;
    char *path;
    bool has_nodes;          /* the tree_nodes table exists (always once opened read-write) */
    sqlite3_stmt *get_node;  /* cached: SELECT hash FROM tree_nodes WHERE level = ? AND idx = ? */
    sqlite3_stmt *get_entry; /* cached: one entry by seq */
};

/* The stored perfect subtrees of level >= 1 (level 0, the leaves, are the
 * entries themselves): filled in the transaction of every append. */
#define CHAIN_NODES_SCHEMA                                                                         \
    "CREATE TABLE tree_nodes (level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 63),"              \
    "  idx INTEGER NOT NULL CHECK (idx >= 0), hash BLOB NOT NULL,"                                 \
    "  PRIMARY KEY (level, idx)) WITHOUT ROWID;"                                                   \
    "CREATE TRIGGER tree_nodes_no_update BEFORE UPDATE ON tree_nodes"                              \
    "  BEGIN SELECT RAISE(ABORT, 'stored Merkle nodes are append-only'); END;"                     \
    "CREATE TRIGGER tree_nodes_no_delete BEFORE DELETE ON tree_nodes"                              \
    "  BEGIN SELECT RAISE(ABORT, 'stored Merkle nodes are append-only'); END;"

/* The keyed hash of the case number of a case-open entry (docs/ledger.md:
 * case_number_mac, 64 hex digits), as an indexed expression: the bytes
 * after "case_number_mac=" up to the end of that line of the body (whatever keys
 * come before it). Only a lookup key: the walk reads the entry and its
 * visitor compares the parsed body, so a body the expression misreads is
 * never taken for another case. */
#define CHAIN_CASE_NUMBER_EXPR                                                                     \
    "substr(body, instr(X'0A' || body, X'0A' || CAST('case_number_mac=' AS BLOB)) + 16,"           \
    " instr(substr(body, instr(X'0A' || body, X'0A' || CAST('case_number_mac=' AS BLOB)) + 16),"   \
    " X'0A') - 1)"
#define CHAIN_CASE_NUMBER_INDEX                                                                    \
    "CREATE INDEX IF NOT EXISTS entries_by_case_number_mac ON entries(" CHAIN_CASE_NUMBER_EXPR     \
    ") WHERE kind = 10;"

#define ENTRY_COLUMNS "seq, time_ms, kind, case_id, actor, prev, body, sig"

/* Fills err from the database's last error, naming the ledger and what
 * failed; returns the code. */
int chain_db_fail(tlo_chain *c, tlo_error *err, const char *what);

/* Fills e from a row of ENTRY_COLUMNS, body copied into *buf (free it).
 * Rows are hostile: every blob is checked. */
int chain_row_to_entry(tlo_chain *c, sqlite3_stmt *st, tlo_entry *e, uint8_t **buf, tlo_error *err);

/* On a read-write open: makes sure tree_nodes and entries_by_kind exist,
 * building the nodes from the entries of a ledger made before they did. */
int chain_nodes_ensure(tlo_chain *c, tlo_error *err);

/* On a read-only open: whether tree_nodes is there. */
int chain_nodes_probe(tlo_chain *c, tlo_error *err);

/* Inserts the nodes one appended leaf completed (tlo_merkle_tree_append_nodes),
 * in the caller's transaction, with ins prepared by chain_nodes_prepare. */
int chain_nodes_prepare(tlo_chain *c, sqlite3_stmt **ins, tlo_error *err);
int chain_nodes_put(tlo_chain *c, sqlite3_stmt *ins, uint64_t size_after,
                    const uint8_t (*nodes)[TLO_HASH_BYTES], unsigned n, tlo_error *err);

/* Finalizes the cached statements (before closing). */
void chain_nodes_close(tlo_chain *c);

#endif
