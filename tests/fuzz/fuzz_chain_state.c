/* Fuzz harness: the custodian's saved verified state (chain/rules.h,
 * tlo_chain_state_load) is read from custodian.state, a file on disk: its MAC
 * is checked first, but the parser must hold on any bytes. A state that
 * loads must save back to the same bytes, and checking an entry against it
 * must not crash, whatever it holds. */
#include "chain.h"
#include "rules.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

static const char session_hex[] = "00112233445566778899aabbccddeeff";

/* A segment entry of the session above, as the next entry of st. */
static void try_segment(tlo_chain_state *st)
{
    static const char body[] = "bytes=1\nciphertext_sha256=00\nend_ms=4000\nindex=0\nobject=00\n"
                               "plaintext_sha256=00\nsession=00112233445566778899aabbccddeeff\n"
                               "start_ms=0\n";
    tlo_entry e = {.seq = tlo_chain_state_size(st),
                   .kind = TLO_ENTRY_SEGMENT,
                   .has_case = true,
                   .body = (const uint8_t *)body,
                   .body_len = sizeof body - 1};
    uint8_t leaf[32] = {1}, pk[32], chain[32];
    char problem[300];
    uint64_t count;
    e.case_id[0] = 0xca;
    tlo_chain_state_last_leaf(st, e.prev);
    (void)tlo_chain_state_check(st, &e, leaf, pk, problem, sizeof problem);
    (void)tlo_chain_state_case(st, e.case_id, &count, chain);
    (void)tlo_chain_state_key(st, e.actor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sodium_init() < 0)
        abort();
    tlo_chain_state *st = tlo_chain_state_load(data, size, NULL);
    if (!st)
        return 0;
    uint8_t *out = NULL;
    size_t n = 0;
    if (tlo_chain_state_save(st, &out, &n, NULL) != 0)
        abort();
    if (n != size || memcmp(out, data, size) != 0)
        abort(); /* two encodings of one state */
    free(out);
    try_segment(st);
    tlo_chain_state_free(st);
    return 0;
}

typedef struct signer {
    uint8_t pk[32], sk[64];
} signer;

/* Signs e as s and takes it into st; 0 or abort. */
static void take(tlo_chain_state *st, tlo_entry *e, const signer *s, const char *body)
{
    uint8_t leaf[32];
    char problem[300];
    e->seq = tlo_chain_state_size(st);
    e->body = (const uint8_t *)body;
    e->body_len = strlen(body);
    tlo_chain_state_last_leaf(st, e->prev);
    if (tlo_entry_sign(e, s->pk, s->sk, NULL) != 0)
        abort();
    tlo_entry_leaf_hash(e, leaf);
    if (tlo_chain_state_check(st, e, leaf, NULL, problem, sizeof problem) != 0) {
        fprintf(stderr, "fuzz_chain_state seeds: %s\n", problem);
        abort();
    }
}

/* Seeds: the states after a genesis, an enrolment, a case and a session
 * with one segment, each saved. */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    signer admin, cust, officer;
    uint8_t box[32], bsk[32], sig[64];
    char a[65], b[65], c[65], d[65], body[1200], sighex[129];
    size_t mlen;
    if (sodium_init() < 0)
        return -1;
    crypto_sign_keypair(admin.pk, admin.sk);
    crypto_sign_keypair(cust.pk, cust.sk);
    crypto_sign_keypair(officer.pk, officer.sk);
    crypto_box_keypair(box, bsk);
    tlo_hex(a, box, 32);
    tlo_hex(b, admin.pk, 32);
    tlo_hex(c, cust.pk, 32);
    tlo_hex(d, officer.pk, 32);
    tlo_chain_state *st = tlo_chain_state_new();
    if (!st)
        return -1;
    snprintf(body, sizeof body,
             "admin.box_pk=%s\nadmin.name=A\nadmin.pk=%s\ncustodian.box_pk=%s\ncustodian.pk=%s\n"
             "origin=fuzz\n",
             a, b, a, c);
    uint8_t *msg = tlo_chain_genesis_message((const uint8_t *)body, strlen(body), &mlen);
    crypto_sign_detached(sig, NULL, msg, mlen, cust.sk);
    free(msg);
    tlo_hex(sighex, sig, 64);
    snprintf(body, sizeof body,
             "admin.box_pk=%s\nadmin.name=A\nadmin.pk=%s\ncustodian.box_pk=%s\ncustodian.pk=%s\n"
             "custodian.sig=%s\norigin=fuzz\n",
             a, b, a, c, sighex);
    static char bodies[5][1200];
    tlo_entry e = {.kind = TLO_ENTRY_GENESIS, .time_ms = 1};
    snprintf(bodies[0], sizeof bodies[0], "%s", body);
    take(st, &e, &admin, bodies[0]);
    snprintf(bodies[1], sizeof bodies[1], "box_pk=%s\nname=O\npk=%s\nroles=interviewer\n", a, d);
    e = (tlo_entry){.kind = TLO_ENTRY_USER_ADD, .time_ms = 2};
    take(st, &e, &admin, bodies[1]);
    e = (tlo_entry){.kind = TLO_ENTRY_CASE_OPEN, .time_ms = 3, .has_case = true};
    e.case_id[0] = 0xca;
    snprintf(bodies[2], sizeof bodies[2],
             "info_object=00\ninfo_sha256=00\nwrapped_key_sha256=00\n");
    take(st, &e, &officer, bodies[2]);
    e = (tlo_entry){.kind = TLO_ENTRY_SESSION_START, .time_ms = 4, .has_case = true};
    e.case_id[0] = 0xca;
    snprintf(bodies[3], sizeof bodies[3], "cameras=2\nmicrophones=1\nroom=r\nsession=%s\n",
             session_hex);
    take(st, &e, &officer, bodies[3]);
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        uint8_t *out = NULL;
        size_t n = 0;
        if (tlo_chain_state_save(st, &out, &n, NULL) != 0)
            rc = -1;
        else
            rc = emit(ctx, out, n);
        free(out);
        if (i == 0) {
            e = (tlo_entry){.kind = TLO_ENTRY_SEGMENT, .time_ms = 5, .has_case = true};
            e.case_id[0] = 0xca;
            snprintf(bodies[4], sizeof bodies[4],
                     "bytes=1\nciphertext_sha256=00\nend_ms=4000\nindex=0\nobject=00\n"
                     "plaintext_sha256=00\nsession=%s\nstart_ms=0\n",
                     session_hex);
            take(st, &e, &officer, bodies[4]);
        }
    }
    tlo_chain_state_free(st);
    return rc;
}
