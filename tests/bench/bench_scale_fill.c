/* bench_scale_fill — grows a vault's ledger to N entries with the entries of
 * a busy centre, for tests/bench/bench_scale.sh (issue 10 §5: five years of
 * a centre, ~4 million entries).
 *
 *   bench_scale_fill VAULT PASSFILE N
 *
 * Appends, in batches of 1,000 (one transaction each, as recordings batch
 * segments), blocks of 74 entries per filler case: case-open, session-start,
 * 60 segments, 2 markers, session-end, 2 grants, 6 access entries (views),
 * and one checkpoint-kind entry without a case. They are signed by the
 * vault's administrator "Admin" (its identity unlocked with PASSFILE), so the
 * ledger still verifies. Without --files the filler cases have no files (no
 * command of bench_scale reads them); with --files each gets the files that
 * verify's checks of files look for (custody/verify.c, verify_objects.c):
 * its wrapped key (cases/ID.key, 80 bytes), its case record and its
 * segments (objects/ID.tlo, 512 random bytes each: ciphertext nobody can
 * open, whose size and SHA-256 are the entries'), so the whole vault
 * verifies and a report of any case succeeds (bench_report.sh). Prints the
 * entries appended and the rate, then the mean time of an inclusion and a
 * consistency proof at the new size.
 *
 *   bench_scale_fill VAULT PASSFILE N [--files] */
#include "chain.h"
#include "vault.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define BODY 480

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_scale_fill: %s: %s\n", what, why);
    exit(1);
}

/* --files: VAULT/DIR/NAME of n random bytes; their SHA-256 in sha_hex. */
static const char *files_vault;
static void fill_file(const char *dir, const char *name, const char *ext, size_t n,
                      char sha_hex[65])
{
    uint8_t b[512], h[crypto_hash_sha256_BYTES];
    char path[4096];
    if (n > sizeof b)
        die(name, "too large");
    randombytes_buf(b, n);
    crypto_hash_sha256(h, b, n);
    tlo_hex(sha_hex, h, sizeof h);
    snprintf(path, sizeof path, "%s/%s/%s%s", files_vault, dir, name, ext);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, b, n) != (ssize_t)n || close(fd) != 0)
        die(path, "cannot write it");
}

static void rhex(char *out, size_t bytes)
{
    uint8_t b[64];
    randombytes_buf(b, bytes);
    tlo_hex(out, b, bytes);
}

static tlo_vault_identity *admin_identity(const char *vault, const char *passfile)
{
    char dir[2048], path[2400];
    tlo_error err = {0};
    if (strlen(vault) > 1900)
        die(vault, "path too long");
    snprintf(dir, sizeof dir, "%s/people", vault);
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        die(dir, "cannot open");
    int fd = open(passfile, O_RDONLY);
    size_t plen = 0;
    char *pass = fd >= 0 ? tlo_vault_secret_line(fd, &plen) : NULL;
    if (fd >= 0)
        close(fd);
    if (!pass)
        die(passfile, "cannot read the passphrase");
    tlo_vault_identity *id = NULL;
    while (!id && (de = readdir(d))) {
        if (!strstr(de->d_name, ".id"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        tlo_vault_identity *pub = tlo_vault_identity_load_public(path, &err);
        if (pub && !strcmp(pub->name, "Admin"))
            id = tlo_vault_identity_load(path, pass, plen, &err);
        tlo_vault_identity_free(pub);
    }
    closedir(d);
    sodium_free(pass);
    if (!id)
        die("the identity of Admin", err.msg[0] ? err.msg : "not found in people/");
    return id;
}

/* The custodian's identity (custodian.id, unlocked with custodian.secret):
 * the access entries of the filler are the custodian's, as the table of
 * kinds (chain/rules.c) wants. */
static tlo_vault_identity *custodian_identity(const char *vault)
{
    char path[4096];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/custodian.secret", vault);
    int fd = open(path, O_RDONLY);
    size_t plen = 0;
    char *pass = fd >= 0 ? tlo_vault_secret_line(fd, &plen) : NULL;
    if (fd >= 0)
        close(fd);
    if (!pass)
        die(path, "cannot read it");
    snprintf(path, sizeof path, "%s/custodian.id", vault);
    tlo_vault_identity *id = tlo_vault_identity_load(path, pass, plen, &err);
    sodium_free(pass);
    if (!id)
        die(path, err.msg);
    return id;
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    if (argc == 5 && !strcmp(argv[4], "--files"))
        files_vault = argv[1];
    else if (argc != 4)
        die("usage", "bench_scale_fill VAULT PASSFILE N [--files]");
    if (tlo_vault_init(&err) != 0)
        die("init", err.msg);
    uint64_t want = strtoull(argv[3], NULL, 10), have = 0;
    tlo_vault_identity *admin = admin_identity(argv[1], argv[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/ledger.db", argv[1]);
    tlo_chain *c = tlo_chain_open(path, false, &err);
    if (!c || tlo_chain_size(c, &have, &err) != 0)
        die(path, err.msg);
    tlo_chain_signer s = {.sk = admin->sign_sk};
    memcpy(s.pk, admin->sign_pk, 32);
    char pkhex[65];
    tlo_hex(pkhex, admin->sign_pk, 32);
    /* The filler's interviewer, enrolled here by the administrator: it
     * starts the sessions and so signs their segments, markers and ends. */
    tlo_vault_identity *cust = custodian_identity(argv[1]);
    tlo_chain_signer cs = {.sk = cust->sign_sk}, os;
    memcpy(cs.pk, cust->sign_pk, 32);
    uint8_t *osk = sodium_malloc(64), obox[32], obsk[32];
    if (!osk)
        die("memory", "no secure memory");
    crypto_sign_keypair(os.pk, osk);
    crypto_box_keypair(obox, obsk);
    os.sk = osk;
    {
        char a[65], b[65], body[400];
        tlo_hex(a, obox, 32);
        tlo_hex(b, os.pk, 32);
        snprintf(body, sizeof body,
                 "box_pk=%s\nname=Filler Interviewer\npk=%s\nroles=interviewer\n", a, b);
        tlo_chain_draft ua = {
            .kind = TLO_ENTRY_USER_ADD, .body = (const uint8_t *)body, .body_len = strlen(body)};
        if (tlo_chain_append(c, &ua, 1, &s, NULL, &err) != 0)
            die("enrolling the filler's interviewer", err.msg);
        have++;
    }

    static tlo_chain_draft d[BATCH];
    static char bodies[BATCH][BODY];
    static const tlo_chain_signer *by[BATCH];
    uint8_t case_id[16];
    char session[33], h1[65], h2[65], h3[65], obj[33];
    unsigned pos = 74; /* position in the current case block */
    uint64_t cases = 0, start = have;
    uint64_t ms = (uint64_t)time(NULL) * 1000;
    double t0 = now();
    while (have < want) {
        size_t n = 0;
        while (n < BATCH && have + n < want) {
            tlo_chain_draft *x = &d[n];
            char *b = bodies[n];
            memset(x, 0, sizeof *x);
            if (pos == 74) {
                pos = 0;
                cases++;
                randombytes_buf(case_id, 16);
                rhex(session, 16);
            }
            x->has_case = true;
            memcpy(x->case_id, case_id, 16);
            if (pos == 0) {
                x->kind = TLO_ENTRY_CASE_OPEN;
                rhex(obj, 16);
                rhex(h1, 32);
                rhex(h2, 32);
                if (files_vault) {
                    char cid[33];
                    tlo_hex(cid, case_id, 16);
                    fill_file("cases", cid, ".key", 80, h2);
                    fill_file("objects", obj, ".tlo", 512, h1);
                }
                snprintf(b, BODY,
                         "case_number_mac=%064llx\ninfo_object=%s\ninfo_sha256=%s\n"
                         "wrapped_key_sha256=%s\n",
                         (unsigned long long)cases, obj, h1, h2);
            } else if (pos == 1) {
                x->kind = TLO_ENTRY_SESSION_START;
                snprintf(b, BODY,
                         "camera.1=test smpte 1280x720 25/1 2000\ncameras=1\nencoder=x264enc\n"
                         "microphone.1=speech\nmicrophones=1\nroom=simulated\nsegment_seconds=4\n"
                         "session=%s\n",
                         session);
            } else if (pos < 62) {
                unsigned i = pos - 2;
                x->kind = TLO_ENTRY_SEGMENT;
                rhex(obj, 16);
                rhex(h1, 32);
                rhex(h3, 32);
                if (files_vault)
                    fill_file("objects", obj, ".tlo", 512, h1);
                snprintf(b, BODY,
                         "bytes=%u\nciphertext_sha256=%s\nduration_ms=4000\nend_ms=%u\n"
                         "index=%u\nobject=%s\nplaintext_bytes=1230000\nplaintext_sha256=%s\n"
                         "session=%s\nstart_ms=%u\nwall_end_ms=%llu\nwall_start_ms=%llu\n",
                         files_vault ? 512u : 1234567u, h1, (i + 1) * 4000, i, obj, h3, session,
                         i * 4000, (unsigned long long)(ms + (i + 1) * 4000),
                         (unsigned long long)(ms + i * 4000));
            } else if (pos < 64) {
                x->kind = TLO_ENTRY_MARKER;
                snprintf(b, BODY, "at_ms=%u\nsession=%s\ntext=break\n", (pos - 61) * 60000,
                         session);
            } else if (pos == 64) {
                x->kind = TLO_ENTRY_SESSION_END;
                snprintf(b, BODY,
                         "bytes=74000000\ndevice_events=0\nelapsed_ms=240100\nmarkers=2\n"
                         "media_ms=240000\nsegments=60\nsession=%s\nstatus=ended\n",
                         session);
            } else if (pos < 67) {
                x->kind = TLO_ENTRY_GRANT;
                snprintf(b, BODY,
                         "actions=view\nexpires_ms=4102444800000\nfrom_ms=0\npurpose=court "
                         "review\nsession=%s\nto=%s\nto_name=Admin\nuntil_ms=240000\n",
                         session, pkhex);
            } else if (pos < 73) {
                x->kind = TLO_ENTRY_ACCESS_GRANTED;
                rhex(h1, 32);
                snprintf(b, BODY,
                         "action=view\nactor=%s\nfrom_ms=0\ngrant=own-recording\npurpose=review\n"
                         "request_sig=%s%s\nrequest_time_ms=%llu\nsegments=0-59\nsession=%s\n"
                         "to_ms=240000\n",
                         pkhex, h1, h1, (unsigned long long)ms, session);
            } else {
                x->kind = TLO_ENTRY_GRANT_REVOKE;
                snprintf(b, BODY, "grant=%llu\nreason=filler\n",
                         (unsigned long long)(have + n - 8));
            }
            by[n] = x->kind == TLO_ENTRY_ACCESS_GRANTED ? &cs
                    : (x->kind == TLO_ENTRY_SESSION_START || x->kind == TLO_ENTRY_SEGMENT ||
                       x->kind == TLO_ENTRY_MARKER || x->kind == TLO_ENTRY_SESSION_END)
                        ? &os
                        : &s;
            x->body = (const uint8_t *)b;
            x->body_len = strlen(b);
            pos++;
            n++;
        }
        /* One transaction per run of one signer. */
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && by[j] == by[i])
                j++;
            if (tlo_chain_append(c, d + i, j - i, by[i], NULL, &err) != 0)
                die("append", err.msg);
            i = j;
        }
        have += n;
        if (have / 500000 != (have - n) / 500000)
            fprintf(stderr, "bench_scale_fill: %llu entries, %.0f s\n", (unsigned long long)have,
                    now() - t0);
    }
    double t = now() - t0;
    printf("filled %llu entries (%llu cases) in %.1f s: %.0f entries/s\n",
           (unsigned long long)(have - start), (unsigned long long)cases, t,
           t > 0 ? (double)(have - start) / t : 0.0);
    /* Proofs from the stored tree at this size, in process (no start-up, no
     * checkpoint file): the part of `prove` that could grow with the ledger. */
    uint8_t proof[64][32];
    size_t plen;
    const int reps = 1000;
    t0 = now();
    for (int i = 0; i < reps; i++)
        if (tlo_chain_inclusion_proof(c, randombytes_uniform((uint32_t)(have - 1)), have, proof,
                                      &plen, &err) != 0)
            die("inclusion proof", err.msg);
    double incl = (now() - t0) / reps;
    t0 = now();
    for (int i = 0; i < reps; i++)
        if (tlo_chain_consistency_proof(c, 1 + randombytes_uniform((uint32_t)(have - 1)), have,
                                        proof, &plen, &err) != 0)
            die("consistency proof", err.msg);
    double cons = (now() - t0) / reps;
    printf("at %llu entries: inclusion proof %.1f us, consistency proof %.1f us (stored tree, "
           "mean of %d)\n",
           (unsigned long long)have, incl * 1e6, cons * 1e6, reps);
    tlo_chain_close(c);
    tlo_vault_identity_free(admin);
    tlo_vault_identity_free(cust);
    sodium_free(osk);
    return 0;
}
