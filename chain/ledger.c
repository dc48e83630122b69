/* The ledger database: storage, appends, walks. Verification is verify.c.
 *
 * Schema (docs/ledger.md):
 *   ledger_info(key TEXT PRIMARY KEY, value TEXT)     format version
 *   entries(seq INTEGER PRIMARY KEY, time_ms, kind, case_id BLOB NULL,
 *           actor BLOB, prev BLOB, body BLOB, sig BLOB, leaf_hash BLOB)
 *   tree_state(id = 1, size, state BLOB)             compact Merkle right edge
 * Triggers refuse UPDATE and DELETE on entries and tree_state rows being
 * deleted: a guard against our own bugs, not the security (verify is). */
#include "chain.h"
#include "ledger_internal.h"
#include "merkle.h"

#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 30000
#define LEDGER_FORMAT "1"

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE ledger_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO ledger_info VALUES ('format', '" LEDGER_FORMAT "');"
    "CREATE TABLE entries ("
    "  seq INTEGER PRIMARY KEY CHECK (seq >= 0),"
    "  time_ms INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  case_id BLOB,"
    "  actor BLOB NOT NULL,"
    "  prev BLOB NOT NULL,"
    "  body BLOB NOT NULL,"
    "  sig BLOB NOT NULL,"
    "  leaf_hash BLOB NOT NULL);"
    "CREATE INDEX entries_by_case ON entries(case_id) WHERE case_id IS NOT NULL;"
    "CREATE INDEX entries_by_kind ON entries(kind);" CHAIN_CASE_NUMBER_INDEX CHAIN_NODES_SCHEMA
    "CREATE TABLE tree_state (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  size INTEGER NOT NULL, state BLOB NOT NULL);"
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;"
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries"
    "  BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;";

int chain_db_fail(tlo_chain *c, tlo_error *err, const char *what)
{
    int code = sqlite3_errcode(c->db);
    int ec = code == SQLITE_FULL      ? TLO_EIO
             : code == SQLITE_NOMEM   ? TLO_ENOMEM
             : code == SQLITE_CORRUPT ? TLO_EFORMAT
                                      : TLO_EIO;
    const char *hint = code == SQLITE_FULL       ? "; the disk is full: free space and try again"
                       : code == SQLITE_BUSY     ? "; another tellonce held the ledger for too "
                                                   "long: try again"
                       : code == SQLITE_READONLY ? "; the ledger is read-only here"
                                                 : "";
    return tlo_fail(err, ec, "ledger %s: %s failed: %s%s", c->path, what, sqlite3_errmsg(c->db),
                    hint);
}

static tlo_chain *open_db(const char *path, int flags, tlo_error *err)
{
    tlo_chain *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        tlo_fail(err, TLO_ENOMEM, "out of memory opening ledger %s", path);
        return NULL;
    }
    if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        tlo_fail(err, TLO_EIO, "cannot open ledger %s: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        tlo_chain_close(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(c->db, 0);
    /* FULL: a commit in WAL mode fsyncs the WAL, so an append is durable. */
    if (sqlite3_exec(c->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL, NULL) !=
        SQLITE_OK) {
        chain_db_fail(c, err, "setting up");
        tlo_chain_close(c);
        return NULL;
    }
    return c;
}

tlo_chain *tlo_chain_create(const char *path, tlo_error *err)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        tlo_fail(err, TLO_EEXIST, "ledger %s already exists; tellonce never overwrites one", path);
        return NULL;
    }
    tlo_chain *c = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
    if (!c)
        return NULL;
    if (sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        chain_db_fail(c, err, "creating the schema");
        tlo_chain_close(c);
        unlink(path);
        return NULL;
    }
    c->has_nodes = true;
    return c;
}

/* A read-only copy (a folder nobody may write in, and no write-ahead log
 * with entries in it): SQLite's immutable open reads it and changes nothing.
 * Any other read-only open would make -shm and -wal beside the database
 * (root may, whatever the mode bits say) or fail (anyone else). The URI
 * (malloc'd) or NULL. */
static char *immutable_uri(const char *path)
{
    char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL, *wal = NULL;
    struct stat st;
    bool copy = false;
    if (dir) {
        if (slash)
            slash[slash == dir] = '\0';
        copy = stat(slash ? dir : ".", &st) == 0 && !(st.st_mode & 0222);
    }
    free(dir);
    size_t n = strlen(path);
    if (copy && (wal = malloc(n + 5))) {
        snprintf(wal, n + 5, "%s-wal", path);
        copy = stat(wal, &st) != 0 ? errno == ENOENT : st.st_size == 0;
        free(wal);
    }
    char *uri = copy ? malloc(3 * n + 32) : NULL, *o = uri;
    if (!uri)
        return NULL;
    o += sprintf(o, "file:");
    for (const char *p = path; *p; p++)
        o += strchr("?#%", *p) ? sprintf(o, "%%%02X", (unsigned char)*p) : sprintf(o, "%c", *p);
    sprintf(o, "?immutable=1");
    return uri;
}

tlo_chain *tlo_chain_open(const char *path, bool readonly, tlo_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        tlo_fail(err, TLO_EIO, "cannot open ledger %s: %s", path, strerror(errno));
        return NULL;
    }
    char *uri = readonly ? immutable_uri(path) : NULL;
    tlo_chain *c =
        uri ? open_db(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, err)
            : open_db(path, readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, err);
    free(uri);
    if (!c)
        return NULL;
    sqlite3_stmt *st2 = NULL;
    int ok = sqlite3_prepare_v2(c->db, "SELECT value FROM ledger_info WHERE key = 'format'", -1,
                                &st2, NULL) == SQLITE_OK &&
             sqlite3_step(st2) == SQLITE_ROW;
    const unsigned char *v = ok ? sqlite3_column_text(st2, 0) : NULL;
    if (!v || strcmp((const char *)v, LEDGER_FORMAT) != 0) {
        tlo_fail(err, v ? TLO_EUNSUPPORTED : TLO_EFORMAT,
                 v ? "ledger %s has format %s; this tellonce reads format " LEDGER_FORMAT
                   : "%s is not a tellonce ledger%s",
                 path, v ? (const char *)v : "");
        sqlite3_finalize(st2);
        tlo_chain_close(c);
        return NULL;
    }
    sqlite3_finalize(st2);
    if ((readonly ? chain_nodes_probe(c, err) : chain_nodes_ensure(c, err)) != 0) {
        tlo_chain_close(c);
        return NULL;
    }
    return c;
}

void tlo_chain_close(tlo_chain *c)
{
    if (!c)
        return;
    chain_nodes_close(c);
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool blob_is(sqlite3_stmt *st, int col, size_t len)
{
    return sqlite3_column_type(st, col) == SQLITE_BLOB &&
           (size_t)sqlite3_column_bytes(st, col) == len;
}

/* The tree state stored with the newest entry, or an empty tree. */
static int load_tree(tlo_chain *c, tlo_merkle_tree *t, tlo_error *err)
{
    sqlite3_stmt *st;
    int rc = 0;
    tlo_merkle_tree_init(t);
    if (sqlite3_prepare_v2(c->db, "SELECT size, state FROM tree_state WHERE id = 1", -1, &st,
                           NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "reading the tree state");
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        if (tlo_merkle_tree_deserialize(t, blob, len, err) != 0 ||
            tlo_merkle_tree_size(t) != (uint64_t)sqlite3_column_int64(st, 0))
            rc = tlo_fail(err, TLO_EFORMAT,
                          "ledger %s: the stored Merkle tree state is damaged; run 'tellonce "
                          "verify'",
                          c->path);
    } else if (step != SQLITE_DONE) {
        rc = chain_db_fail(c, err, "reading the tree state");
    }
    sqlite3_finalize(st);
    return rc;
}

static int store_tree(tlo_chain *c, const tlo_merkle_tree *t, tlo_error *err)
{
    uint8_t buf[TLO_MERKLE_STATE_MAX_BYTES];
    size_t len;
    sqlite3_stmt *st;
    if (tlo_merkle_tree_serialize(t, buf, sizeof buf, &len, err) != 0)
        return TLO_ERANGE;
    if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO tree_state VALUES (1, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "storing the tree state");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)tlo_merkle_tree_size(t));
    sqlite3_bind_blob(st, 2, buf, (int)len, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : chain_db_fail(c, err, "storing the tree state");
    sqlite3_finalize(st);
    return rc;
}

int tlo_chain_append(tlo_chain *c, const tlo_chain_draft *drafts, size_t n,
                     const tlo_chain_signer *s, uint64_t *first_seq, tlo_error *err)
{
    sqlite3_stmt *last = NULL, *ins = NULL, *ins_node = NULL;
    tlo_merkle_tree tree;
    uint64_t seq = 0, t_prev = 0;
    uint8_t prev[TLO_HASH_BYTES] = {0};
    const char *why;
    int rc;

    if (first_seq)
        *first_seq = 0;
    if (!c || !drafts || n == 0 || !s || !s->sk)
        return tlo_fail(err, TLO_EARG, "tlo_chain_append: nothing to append, or no signer");
    for (size_t i = 0; i < n; i++)
        if (!tlo_entry_body_valid(drafts[i].body, drafts[i].body_len, &why) ||
            !tlo_entry_kind_name(drafts[i].kind))
            return tlo_fail(err, TLO_EARG, "entry %zu of the batch is not valid: %s", i,
                            why ? why : "unknown kind");

    /* One writer at a time: IMMEDIATE takes the write lock now, so the last
     * entry read below is still the last when ours are inserted. */
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "starting an append");
    if (sqlite3_prepare_v2(c->db,
                           "SELECT seq, time_ms, leaf_hash FROM entries ORDER BY seq DESC LIMIT 1",
                           -1, &last, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", -1,
                           &ins, NULL) != SQLITE_OK) {
        rc = chain_db_fail(c, err, "preparing an append");
        goto rollback;
    }
    if ((rc = chain_nodes_prepare(c, &ins_node, err)) != 0)
        goto rollback;
    int step = sqlite3_step(last);
    if (step == SQLITE_ROW) {
        if (!blob_is(last, 2, TLO_HASH_BYTES)) {
            rc = tlo_fail(err, TLO_EFORMAT, "ledger %s: the newest entry is damaged", c->path);
            goto rollback;
        }
        seq = (uint64_t)sqlite3_column_int64(last, 0) + 1;
        t_prev = (uint64_t)sqlite3_column_int64(last, 1);
        memcpy(prev, sqlite3_column_blob(last, 2), TLO_HASH_BYTES);
    } else if (step != SQLITE_DONE) {
        rc = chain_db_fail(c, err, "reading the newest entry");
        goto rollback;
    }
    if ((rc = load_tree(c, &tree, err)) != 0)
        goto rollback;
    if (tlo_merkle_tree_size(&tree) != seq) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "ledger %s: the Merkle tree holds %llu entries but the ledger %llu; run "
                      "'tellonce verify'",
                      c->path, (unsigned long long)tlo_merkle_tree_size(&tree),
                      (unsigned long long)seq);
        goto rollback;
    }
    if (first_seq)
        *first_seq = seq;

    uint64_t t = now_ms();
    if (t < t_prev)
        t = t_prev; /* the clock stepped back: keep time non-decreasing */
    for (size_t i = 0; i < n; i++, seq++) {
        tlo_entry e = {.seq = seq,
                       .time_ms = t,
                       .kind = drafts[i].kind,
                       .has_case = drafts[i].has_case,
                       .body = drafts[i].body,
                       .body_len = drafts[i].body_len};
        uint8_t leaf[TLO_HASH_BYTES];
        if (e.has_case)
            memcpy(e.case_id, drafts[i].case_id, TLO_CASE_ID_BYTES);
        memcpy(e.prev, prev, TLO_HASH_BYTES);
        if ((rc = tlo_entry_sign(&e, s->pk, s->sk, err)) != 0)
            goto rollback;
        tlo_entry_leaf_hash(&e, leaf);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)e.seq);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)e.time_ms);
        sqlite3_bind_int(ins, 3, e.kind);
        if (e.has_case)
            sqlite3_bind_blob(ins, 4, e.case_id, TLO_CASE_ID_BYTES, SQLITE_STATIC);
        else
            sqlite3_bind_null(ins, 4);
        sqlite3_bind_blob(ins, 5, e.actor, TLO_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 6, e.prev, TLO_HASH_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 7, e.body_len ? (const void *)e.body : "", (int)e.body_len,
                          SQLITE_STATIC);
        sqlite3_bind_blob(ins, 8, e.sig, TLO_ENTRY_SIG_BYTES, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 9, leaf, TLO_HASH_BYTES, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = chain_db_fail(c, err, "inserting an entry");
            goto rollback;
        }
        uint8_t nodes[TLO_MERKLE_EDGE_MAX][TLO_HASH_BYTES];
        unsigned nnodes;
        if ((rc = tlo_merkle_tree_append_nodes(&tree, leaf, nodes, &nnodes, err)) != 0 ||
            (rc = chain_nodes_put(c, ins_node, tlo_merkle_tree_size(&tree),
                                  (const uint8_t(*)[TLO_HASH_BYTES])nodes, nnodes, err)) != 0)
            goto rollback;
        memcpy(prev, leaf, TLO_HASH_BYTES);
    }
    if ((rc = store_tree(c, &tree, err)) != 0)
        goto rollback;
    sqlite3_finalize(last);
    sqlite3_finalize(ins);
    sqlite3_finalize(ins_node);
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = chain_db_fail(c, err, "committing an append");
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        if (first_seq)
            *first_seq = 0;
        return rc;
    }
    return 0;

rollback:
    sqlite3_finalize(last);
    sqlite3_finalize(ins);
    sqlite3_finalize(ins_node);
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    if (first_seq)
        *first_seq = 0;
    return rc;
}

int tlo_chain_size(tlo_chain *c, uint64_t *size, tlo_error *err)
{
    sqlite3_stmt *st;
    *size = 0;
    /* max(seq) + 1, not count(*): the same for any ledger that verifies (seq
     * from 0 without gaps), and one b-tree descent instead of a scan of
     * every row (80 ms at 4 million entries). */
    if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(seq) + 1, 0) FROM entries", -1, &st, NULL) !=
        SQLITE_OK)
        return chain_db_fail(c, err, "counting entries");
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *size = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = chain_db_fail(c, err, "counting entries");
    sqlite3_finalize(st);
    return rc;
}

/* Fills e from a row (seq, time_ms, kind, case_id, actor, prev, body, sig)
 * with the body copied into *buf. Rows are hostile: every blob is checked. */
int chain_row_to_entry(tlo_chain *c, sqlite3_stmt *st, tlo_entry *e, uint8_t **buf, tlo_error *err)
{
    memset(e, 0, sizeof *e);
    *buf = NULL;
    e->seq = (uint64_t)sqlite3_column_int64(st, 0);
    int bad_case = sqlite3_column_type(st, 3) != SQLITE_NULL && !blob_is(st, 3, TLO_CASE_ID_BYTES);
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
        sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
        sqlite3_column_type(st, 2) != SQLITE_INTEGER || bad_case ||
        !blob_is(st, 4, TLO_HASH_BYTES) || !blob_is(st, 5, TLO_HASH_BYTES) ||
        sqlite3_column_type(st, 6) != SQLITE_BLOB || !blob_is(st, 7, TLO_ENTRY_SIG_BYTES) ||
        sqlite3_column_bytes(st, 6) > TLO_ENTRY_BODY_MAX || sqlite3_column_int64(st, 2) < 0 ||
        sqlite3_column_int64(st, 2) > 0xffff)
        return tlo_fail(err, TLO_EFORMAT,
                        "ledger %s: entry %lld is malformed in the database (a field has the "
                        "wrong type or size)",
                        c->path, (long long)sqlite3_column_int64(st, 0));
    e->time_ms = (uint64_t)sqlite3_column_int64(st, 1);
    e->kind = (uint16_t)sqlite3_column_int(st, 2);
    e->has_case = sqlite3_column_type(st, 3) != SQLITE_NULL;
    if (e->has_case)
        memcpy(e->case_id, sqlite3_column_blob(st, 3), TLO_CASE_ID_BYTES);
    memcpy(e->actor, sqlite3_column_blob(st, 4), TLO_HASH_BYTES);
    memcpy(e->prev, sqlite3_column_blob(st, 5), TLO_HASH_BYTES);
    size_t blen = (size_t)sqlite3_column_bytes(st, 6);
    *buf = malloc(blen ? blen : 1);
    if (!*buf)
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading the ledger");
    if (blen)
        memcpy(*buf, sqlite3_column_blob(st, 6), blen);
    e->body = *buf;
    e->body_len = blen;
    memcpy(e->sig, sqlite3_column_blob(st, 7), TLO_ENTRY_SIG_BYTES);
    return 0;
}

int tlo_chain_get(tlo_chain *c, uint64_t seq, tlo_entry *e, uint8_t **buf, tlo_error *err)
{
    sqlite3_stmt *st;
    *buf = NULL;
    memset(e, 0, sizeof *e);
    if (sqlite3_prepare_v2(c->db, "SELECT " ENTRY_COLUMNS " FROM entries WHERE seq = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "reading an entry");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc, step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = chain_row_to_entry(c, st, e, buf, err);
    else if (step == SQLITE_DONE)
        rc = tlo_fail(err, TLO_ERANGE, "ledger %s has no entry %llu", c->path,
                      (unsigned long long)seq);
    else
        rc = chain_db_fail(c, err, "reading an entry");
    sqlite3_finalize(st);
    return rc;
}

int tlo_chain_root(tlo_chain *c, uint64_t *size, uint8_t root[static TLO_HASH_BYTES],
                   tlo_error *err)
{
    tlo_merkle_tree t;
    int rc = load_tree(c, &t, err);
    *size = 0;
    memset(root, 0, TLO_HASH_BYTES);
    if (rc)
        return rc;
    *size = tlo_merkle_tree_size(&t);
    tlo_merkle_tree_root(&t, root);
    return 0;
}

/* The walks: sql selects ENTRY_COLUMNS ordered by seq with ?1 = from and,
 * when given, ?2 = the case id, or ?2.. = the kinds. */
static int walk_query(tlo_chain *c, const char *sql, uint64_t from, const uint8_t *case_id,
                      const uint16_t *kinds, size_t nkinds, tlo_chain_visit_fn fn, void *ctx,
                      tlo_error *err)
{
    sqlite3_stmt *st;
    int rc = 0;
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "starting a read");
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = chain_db_fail(c, err, "reading entries");
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    sqlite3_bind_int64(st, 1, from > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)from);
    if (case_id)
        sqlite3_bind_blob(st, 2, case_id, TLO_CASE_ID_BYTES, SQLITE_STATIC);
    for (size_t i = 0; i < nkinds; i++)
        sqlite3_bind_int(st, 2 + (int)i, kinds[i]);
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        tlo_entry e;
        uint8_t *buf, leaf[TLO_HASH_BYTES];
        if ((rc = chain_row_to_entry(c, st, &e, &buf, err)) == 0) {
            tlo_entry_leaf_hash(&e, leaf);
            rc = fn(ctx, &e, leaf, err);
        }
        free(buf);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = chain_db_fail(c, err, "reading entries");
    sqlite3_finalize(st);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

int tlo_chain_walk(tlo_chain *c, uint64_t from, tlo_chain_visit_fn fn, void *ctx, tlo_error *err)
{
    return walk_query(c, "SELECT " ENTRY_COLUMNS " FROM entries WHERE seq >= ?1 ORDER BY seq", from,
                      NULL, NULL, 0, fn, ctx, err);
}

int tlo_chain_walk_case(tlo_chain *c, const uint8_t case_id[static TLO_CASE_ID_BYTES],
                        uint64_t from, tlo_chain_visit_fn fn, void *ctx, tlo_error *err)
{
    /* entries_by_case holds (case_id, seq): this reads the case's rows only,
     * already in seq order. */
    return walk_query(c,
                      "SELECT " ENTRY_COLUMNS " FROM entries INDEXED BY entries_by_case"
                      " WHERE case_id = ?2 AND case_id IS NOT NULL AND seq >= ?1 ORDER BY seq",
                      from, case_id, NULL, 0, fn, ctx, err);
}

int tlo_chain_walk_kinds(tlo_chain *c, const uint16_t *kinds, size_t nkinds, uint64_t from,
                         tlo_chain_visit_fn fn, void *ctx, tlo_error *err)
{
    /* entries_by_kind when the ledger has it (every ledger opened read-write
     * once); a read-only copy made before it scans instead, still correct. */
    char sql[400];
    size_t n = (size_t)snprintf(
        sql, sizeof sql, "SELECT " ENTRY_COLUMNS " FROM entries WHERE seq >= ?1 AND kind IN (");
    if (!kinds || nkinds == 0 || nkinds > TLO_CHAIN_WALK_KINDS_MAX)
        return tlo_fail(err, TLO_EARG, "tlo_chain_walk_kinds: 1 to %d kinds",
                        TLO_CHAIN_WALK_KINDS_MAX);
    for (size_t i = 0; i < nkinds; i++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s?%zu", i ? ", " : "", i + 2);
    snprintf(sql + n, sizeof sql - n, ") ORDER BY seq");
    return walk_query(c, sql, from, NULL, kinds, nkinds, fn, ctx, err);
}

int tlo_chain_walk_case_number(tlo_chain *c, const char *number, tlo_chain_visit_fn fn, void *ctx,
                               tlo_error *err)
{
    sqlite3_stmt *st;
    int rc = 0;
    if (!number || !*number)
        return tlo_fail(err, TLO_EARG, "tlo_chain_walk_case_number: no case number");
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "starting a read");
    if (sqlite3_prepare_v2(c->db,
                           "SELECT " ENTRY_COLUMNS
                           " FROM entries WHERE kind = 10 AND " CHAIN_CASE_NUMBER_EXPR
                           " = ?1 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = chain_db_fail(c, err, "looking a case number up");
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    sqlite3_bind_blob(st, 1, number, (int)strlen(number), SQLITE_STATIC);
    int step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        tlo_entry e;
        uint8_t *buf, leaf[TLO_HASH_BYTES];
        if ((rc = chain_row_to_entry(c, st, &e, &buf, err)) == 0) {
            tlo_entry_leaf_hash(&e, leaf);
            rc = fn(ctx, &e, leaf, err);
        }
        free(buf);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = chain_db_fail(c, err, "looking a case number up");
    sqlite3_finalize(st);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

int tlo_chain_walk_kind(tlo_chain *c, uint16_t kind, uint64_t from, tlo_chain_visit_fn fn,
                        void *ctx, tlo_error *err)
{
    return tlo_chain_walk_kinds(c, &kind, 1, from, fn, ctx, err);
}
