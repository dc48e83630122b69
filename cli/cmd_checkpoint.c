/* tellonce checkpoint, prove, verify-proof — signed tree heads of the custody
 * ledger and the proofs an outsider checks against them (docs/ledger-formats.md).
 *
 * Checkpoints are C2SP signed notes by the custodian, under the key name of
 * the ledger's origin; the vault keeps every one in checkpoints/, named by
 * tree size, and records each as a ledger entry. */
#include "cli.h"
#include "merkle.h"
#include "note.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared ---------------------------------------------------------------- */

int cli_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? EXIT_USAGE : EXIT_SYSTEM;
    }
    char *buf = malloc(max + 1);
    long long n = buf ? tlo_pread_full(fd, buf, max + 1, 0) : -ENOMEM;
    close(fd);
    if (n < 0) {
        cli_error("cannot read %s: %s", path, strerror((int)-n));
        free(buf);
        return EXIT_SYSTEM;
    }
    if ((size_t)n > max) {
        cli_error("%s is larger than any file tellonce reads here (%zu bytes)", path, max);
        free(buf);
        return EXIT_BAD_DATA;
    }
    buf[n] = '\0';
    *out = buf;
    *len = (size_t)n;
    return 0;
}

int cli_vault_trust(tlo_chain *c, char *origin, size_t cap, tlo_note_verifier *v)
{
    tlo_entry e;
    uint8_t *buf = NULL, pk[32];
    tlo_error err = {0};
    size_t n, kn = 0;
    char hex[65];
    int rc = EXIT_BAD_DATA;
    if (tlo_chain_get(c, 0, &e, &buf, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    const uint8_t *o = tlo_entry_body_get(e.body, e.body_len, "origin", &n);
    const uint8_t *k = tlo_entry_body_get(e.body, e.body_len, "custodian.pk", &kn);
    if (e.kind != TLO_ENTRY_GENESIS || !o || n == 0 || n >= cap || !k || kn != 64) {
        cli_error("the ledger's first entry is not a genesis naming an origin and a custodian");
        goto out;
    }
    memcpy(origin, o, n);
    origin[n] = '\0';
    memcpy(hex, k, 64);
    hex[64] = '\0';
    if (tlo_unhex(pk, 32, hex) != 0 || tlo_note_verifier_init(v, origin, pk, &err) != 0) {
        if (err.msg[0])
            cli_fail(&err);
        else
            cli_error("the genesis entry holds a malformed custodian key");
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Opens a checkpoint file and checks its signature by the vault's custodian. */
static int open_checkpoint(const char *path, const tlo_note_verifier *v, const char *origin,
                           tlo_checkpoint *cp, char **text)
{
    size_t len;
    tlo_error err = {0};
    int rc = cli_read_file(path, TLO_NOTE_MAX_BYTES, text, &len);
    if (rc)
        return rc;
    if (tlo_checkpoint_open(*text, len, v, 1, origin, cp, &err) != 0) {
        cli_error("checkpoint %s: %s", path, err.msg);
        free(*text);
        *text = NULL;
        return EXIT_BAD_DATA;
    }
    return 0;
}

char *cli_newest_checkpoint(const char *vault)
{
    char *dir = tlo_path_join(vault, "checkpoints"), best[64] = "";
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n == 31 && !strcmp(de->d_name + 20, ".checkpoint") && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    if (d)
        closedir(d);
    char *path = best[0] && dir ? tlo_path_join(dir, best) : NULL;
    free(dir);
    return path;
}

static int write_out(const char *path, const char *text, size_t len)
{
    if (!path || !strcmp(path, "-")) {
        return fwrite(text, 1, len, stdout) == len ? 0 : EXIT_SYSTEM;
    }
    return cli_write_new_file(path, text, len, 0644) == 0 ? 0 : EXIT_SYSTEM;
}

int cli_checkpoint_write(const char *vault, tlo_chain *ch, const char *out_path, bool print)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *note = NULL, *dir = NULL, *path = NULL;
    tlo_vault_identity *cust = NULL;
    tlo_note_verifier v;
    tlo_error err = {0};
    size_t note_len;
    int rc = cli_vault_trust(ch, origin, sizeof origin, &v);
    if (rc)
        return rc;
    tlo_chain_report r;
    if (tlo_chain_verify(ch, &r, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!r.ok) {
        cli_error("the ledger fails verification, so the custodian will not sign a checkpoint "
                  "of it: %s",
                  r.problem);
        rc = EXIT_BAD_DATA;
        goto out;
    }
    if (!(cust = cli_unlock_custodian(vault))) {
        rc = EXIT_BAD_DATA;
        goto out;
    }
    if (tlo_checkpoint_sign(origin, r.entries, r.root, origin, cust->sign_sk, &note, &note_len,
                            &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    /* Keep it in the vault before logging it: a logged checkpoint must exist. */
    char name[64];
    dir = tlo_path_join(vault, "checkpoints");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cli_error("cannot create %s: %s", dir, strerror(errno));
        rc = EXIT_SYSTEM;
        goto out;
    }
    snprintf(name, sizeof name, "%020llu.checkpoint", (unsigned long long)r.entries);
    path = tlo_path_join(dir, name);
    if (cli_write_new_file(path, note, note_len, 0644) != 0) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    char root_hex[65], body[200];
    tlo_hex(root_hex, r.root, 32);
    snprintf(body, sizeof body, "root=%s\nsize=%llu\n", root_hex, (unsigned long long)r.entries);
    tlo_chain_draft d = {
        .kind = TLO_ENTRY_CHECKPOINT, .body = (const uint8_t *)body, .body_len = strlen(body)};
    tlo_chain_signer s = {.sk = cust->sign_sk};
    memcpy(s.pk, cust->sign_pk, 32);
    uint64_t seq;
    if (tlo_chain_append(ch, &d, 1, &s, &seq, &err) != 0) {
        unlink(path);
        rc = cli_fail(&err);
        goto out;
    }
    if (out_path && (rc = write_out(out_path, note, note_len)) != 0)
        goto out;
    if (print)
        printf("Checkpoint of %llu entries (root %s), signed by the custodian as %s.\n"
               "  kept in %s%s%s\n"
               "  logged as entry %llu\n",
               (unsigned long long)r.entries, root_hex, origin, path,
               out_path ? ", copied to " : "", out_path ? out_path : "", (unsigned long long)seq);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(cust);
    free(note);
    free(dir);
    free(path);
    return rc;
}

/* ---- tellonce checkpoint ------------------------------------------------- */

static void checkpoint_usage(FILE *f)
{
    fprintf(f, "usage: tellonce checkpoint [--vault DIR] [-o FILE]\n"
               "       tellonce checkpoint --verifier-key [--vault DIR]\n"
               "\n"
               "Verifies the ledger, then writes a checkpoint of it signed by the custodian (a\n"
               "C2SP tlog-checkpoint signed note), keeps it in the vault's checkpoints/, records\n"
               "it as a ledger entry, and copies it to FILE if given. --verifier-key prints the\n"
               "custodian's verifier key (name+keyid+key) for signed-note tools and auditors.\n");
}

int cmd_checkpoint(int argc, char **argv)
{
    static const struct option opts[] = {{"vault", required_argument, NULL, 'V'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"verifier-key", no_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vault_opt = NULL, *out_path = NULL;
    int c, want_vkey = 0, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            vault_opt = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'k':
            want_vkey = 1;
            break;
        case 'h':
            checkpoint_usage(stdout);
            return EXIT_OK;
        default:
            checkpoint_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        checkpoint_usage(stderr);
        return EXIT_USAGE;
    }
    char *vault = cli_vault_dir(vault_opt), origin[TLO_NOTE_NAME_MAX + 1];
    tlo_note_verifier v;
    tlo_error err = {0};
    tlo_chain *ch = cli_open_ledger(vault, want_vkey, &rc);
    if (!ch || (rc = cli_vault_trust(ch, origin, sizeof origin, &v)) != 0)
        goto out;
    if (want_vkey) {
        char vkey[TLO_NOTE_VKEY_MAX];
        if (tlo_note_verifier_format(&v, vkey, sizeof vkey, &err) != 0) {
            rc = cli_fail(&err);
            goto out;
        }
        printf("%s\n", vkey);
        goto out;
    }
    if (out_path && access(out_path, F_OK) == 0) {
        cli_error("%s already exists; tellonce never overwrites a file", out_path);
        rc = EXIT_USAGE;
        goto out;
    }
    rc = cli_checkpoint_write(vault, ch, out_path, true);
out:
    tlo_chain_close(ch);
    free(vault);
    return rc;
}

/* ---- tellonce prove ------------------------------------------------------ */

static void prove_usage(FILE *f)
{
    fprintf(f, "usage: tellonce prove --entry N [--checkpoint FILE] [--vault DIR] [-o OUT]\n"
               "       tellonce prove --from OLD [--to NEW] [--vault DIR] [-o OUT]\n"
               "\n"
               "--entry: an inclusion proof (c2sp.org/tlog-proof@v1) that entry N is in the\n"
               "checkpoint (default: the vault's newest), carrying the entry itself.\n"
               "--from: a consistency proof that the checkpoint NEW (default: the newest)\n"
               "extends the older checkpoint OLD. Written to OUT or standard output; check it\n"
               "with 'tellonce verify-proof', which needs no ledger.\n");
}

int cli_leaf_from_array(void *ctx, uint64_t index, uint8_t out[TLO_MERKLE_HASH_BYTES])
{
    const uint8_t(*leaves)[TLO_HASH_BYTES] = ctx;
    memcpy(out, leaves[index], TLO_HASH_BYTES);
    return 0;
}

/* The leaves of the first size entries, checked against the checkpoint. */
static int leaves_matching(tlo_chain *ch, const tlo_checkpoint *cp, const char *label,
                           uint8_t (**leaves)[TLO_HASH_BYTES])
{
    tlo_error err = {0};
    uint8_t root[TLO_HASH_BYTES];
    if (tlo_chain_leaf_hashes(ch, cp->size, leaves, &err) != 0)
        return cli_fail(&err);
    tlo_merkle_root_of_leaves(root, (const uint8_t(*)[TLO_HASH_BYTES]) * leaves, cp->size);
    if (sodium_memcmp(root, cp->root, TLO_HASH_BYTES) != 0) {
        cli_error("the ledger does not match %s: the root of its first %llu entries differs; run "
                  "'tellonce verify --checkpoint %s'",
                  label, (unsigned long long)cp->size, label);
        free(*leaves);
        *leaves = NULL;
        return EXIT_BAD_DATA;
    }
    return 0;
}

int cmd_prove(int argc, char **argv)
{
    static const struct option opts[] = {{"vault", required_argument, NULL, 'V'},
                                         {"entry", required_argument, NULL, 'e'},
                                         {"checkpoint", required_argument, NULL, 'c'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vault_opt = NULL, *cp_opt = NULL, *from = NULL, *out_path = NULL;
    uint64_t index = 0;
    int c, have_entry = 0, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            vault_opt = optarg;
            break;
        case 'e':
            if (tlo_parse_u64(optarg, &index) != 0) {
                cli_error("--entry takes an entry number");
                return EXIT_USAGE;
            }
            have_entry = 1;
            break;
        case 'c':
        case 't':
            cp_opt = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            prove_usage(stdout);
            return EXIT_OK;
        default:
            prove_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || have_entry == !!from) {
        cli_error("prove takes either --entry N or --from OLD; see 'tellonce prove --help'");
        return EXIT_USAGE;
    }
    if (out_path && strcmp(out_path, "-") && access(out_path, F_OK) == 0) {
        cli_error("%s already exists; tellonce never overwrites a file", out_path);
        return EXIT_USAGE;
    }
    char *vault = cli_vault_dir(vault_opt), origin[TLO_NOTE_NAME_MAX + 1];
    char *newest = NULL, *cp_text = NULL, *old_text = NULL, *out = NULL;
    uint8_t(*leaves)[TLO_HASH_BYTES] = NULL;
    uint8_t *entry_buf = NULL;
    tlo_note_verifier v;
    tlo_checkpoint cp, old;
    tlo_error err = {0};
    size_t out_len;
    tlo_chain *ch = cli_open_ledger(vault, true, &rc);
    if (!ch || (rc = cli_vault_trust(ch, origin, sizeof origin, &v)) != 0)
        goto out;
    const char *cp_path = cp_opt ? cp_opt : (newest = cli_newest_checkpoint(vault));
    if (!cp_path) {
        cli_error("the vault has no checkpoint yet: 'tellonce checkpoint' writes one");
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = open_checkpoint(cp_path, &v, origin, &cp, &cp_text)) != 0)
        goto out;
    if ((rc = leaves_matching(ch, &cp, cp_path, &leaves)) != 0)
        goto out;

    if (have_entry) {
        tlo_proof_inclusion *p = calloc(1, sizeof *p);
        tlo_entry e;
        rc = EXIT_USAGE;
        if (!p)
            goto out;
        if (index >= cp.size) {
            cli_error("entry %llu is not in %s, which covers entries 0 to %llu; write a newer "
                      "checkpoint",
                      (unsigned long long)index, cp_path, (unsigned long long)(cp.size - 1));
            free(p);
            goto out;
        }
        rc = EXIT_SYSTEM;
        if (tlo_chain_get(ch, index, &e, &entry_buf, &err) != 0 ||
            tlo_merkle_inclusion_proof(cli_leaf_from_array, leaves, index, cp.size, p->hashes,
                                       &p->nhashes, &err) != 0) {
            rc = cli_fail(&err);
            free(p);
            goto out;
        }
        /* The entry travels in the proof's extra line, so an auditor sees what
         * is proven and recomputes its leaf hash. */
        uint8_t *enc = malloc(TLO_ENTRY_MAX_BYTES);
        size_t n = enc ? tlo_entry_encode(&e, enc, TLO_ENTRY_MAX_BYTES) : 0;
        if (n == 0 || n > TLO_PROOF_EXTRA_MAX) {
            cli_error("entry %llu is %zu bytes, larger than a proof file carries (%d)",
                      (unsigned long long)index, n, TLO_PROOF_EXTRA_MAX);
            free(enc);
            free(p);
            rc = EXIT_USAGE;
            goto out;
        }
        p->index = index;
        p->has_extra = true;
        p->extra_len = n;
        memcpy(p->extra, enc, n);
        free(enc);
        p->checkpoint = cp_text;
        p->checkpoint_len = strlen(cp_text);
        rc = tlo_proof_inclusion_format(p, &out, &out_len, &err) ? cli_fail(&err) : 0;
        free(p);
    } else {
        tlo_proof_consistency *p = calloc(1, sizeof *p);
        uint8_t(*proof)[TLO_HASH_BYTES] = calloc(TLO_MERKLE_MAX_PROOF, TLO_HASH_BYTES);
        rc = EXIT_SYSTEM;
        if (!p || !proof) {
            free(p);
            free(proof);
            goto out;
        }
        if ((rc = open_checkpoint(from, &v, origin, &old, &old_text)) == 0) {
            uint8_t root[TLO_HASH_BYTES];
            tlo_merkle_root_of_leaves(root, (const uint8_t(*)[TLO_HASH_BYTES])leaves, old.size);
            if (old.size > cp.size) {
                cli_error("%s (%llu entries) is newer than %s (%llu)", from,
                          (unsigned long long)old.size, cp_path, (unsigned long long)cp.size);
                rc = EXIT_USAGE;
            } else if (sodium_memcmp(root, old.root, 32) != 0) {
                cli_error("the ledger does not extend %s: the root of its first %llu entries "
                          "differs, so it was rewritten or forked since",
                          from, (unsigned long long)old.size);
                rc = EXIT_BAD_DATA;
            } else if (old.size < cp.size &&
                       tlo_merkle_consistency_proof(cli_leaf_from_array, leaves, old.size, cp.size,
                                                    proof, &p->nhashes, &err) != 0) {
                rc = cli_fail(&err);
            } else {
                memcpy(p->hashes, proof, p->nhashes * TLO_HASH_BYTES);
                p->old_size = old.size;
                p->checkpoint = cp_text;
                p->checkpoint_len = strlen(cp_text);
                rc = tlo_proof_consistency_format(p, &out, &out_len, &err) ? cli_fail(&err) : 0;
            }
        }
        free(p);
        free(proof);
    }
    if (rc == 0)
        rc = write_out(out_path, out, out_len);
out:
    tlo_chain_close(ch);
    free(vault);
    free(newest);
    free(cp_text);
    free(old_text);
    free(out);
    free(leaves);
    free(entry_buf);
    return rc;
}

/* ---- tellonce verify-proof ---------------------------------------------- */

static void verify_proof_usage(FILE *f)
{
    fprintf(f, "usage: tellonce verify-proof FILE (--verifier-key KEY | --vault DIR) [--old OLD]\n"
               "\n"
               "Checks a proof written by 'tellonce prove' without the ledger database: the\n"
               "checkpoint's signature by KEY (the custodian's verifier key, as 'tellonce\n"
               "checkpoint --verifier-key' prints it; --vault reads it from a vault's ledger),\n"
               "then the Merkle proof. An inclusion proof shows the entry it proves. A\n"
               "consistency proof also needs OLD, the older checkpoint the auditor kept.\n"
               "Exit status 0 when the proof holds, 1 when it does not.\n");
}

int cmd_verify_proof(int argc, char **argv)
{
    static const struct option opts[] = {{"verifier-key", required_argument, NULL, 'k'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"old", required_argument, NULL, 'O'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vkey = NULL, *vault_opt = NULL, *old_path = NULL;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            vkey = optarg;
            break;
        case 'V':
            vault_opt = optarg;
            break;
        case 'O':
            old_path = optarg;
            break;
        case 'h':
            verify_proof_usage(stdout);
            return EXIT_OK;
        default:
            verify_proof_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !!vkey == !!vault_opt) {
        cli_error("verify-proof takes one FILE and either --verifier-key KEY or --vault DIR");
        return EXIT_USAGE;
    }
    const char *path = argv[optind];
    char *text = NULL, *old_text = NULL;
    size_t len;
    tlo_note_verifier v;
    tlo_error err = {0};
    tlo_checkpoint cp, old;
    if (vkey) {
        if (tlo_note_verifier_parse(&v, vkey, strlen(vkey), &err) != 0) {
            cli_error("--verifier-key: %s", err.msg);
            return EXIT_USAGE;
        }
    } else {
        char *vault = cli_vault_dir(vault_opt), origin[TLO_NOTE_NAME_MAX + 1];
        tlo_chain *ch = cli_open_ledger(vault, true, &rc);
        if (ch)
            rc = cli_vault_trust(ch, origin, sizeof origin, &v);
        tlo_chain_close(ch);
        free(vault);
        if (rc)
            return rc;
    }
    if ((rc = cli_read_file(path, TLO_PROOF_MAX_BYTES, &text, &len)) != 0)
        return rc;
    rc = EXIT_BAD_DATA;
    if (!strncmp(text, TLO_PROOF_INCLUSION_HEADER "\n", strlen(TLO_PROOF_INCLUSION_HEADER) + 1)) {
        tlo_proof_inclusion *p = calloc(1, sizeof *p);
        tlo_entry e;
        uint8_t leaf[TLO_HASH_BYTES];
        if (!p) {
            rc = EXIT_SYSTEM;
        } else if (tlo_proof_inclusion_open(text, len, &v, 1, v.name, p, &cp, &err) != 0) {
            cli_error("%s: %s", path, err.msg);
        } else if (!p->has_extra || tlo_entry_decode(p->extra, p->extra_len, &e, &err) != 0) {
            cli_error("%s does not carry a tellonce ledger entry%s%s", path, err.msg[0] ? ": " : "",
                      err.msg);
        } else if (e.seq != p->index) {
            cli_error("%s proves leaf %llu but carries entry %llu", path,
                      (unsigned long long)p->index, (unsigned long long)e.seq);
        } else {
            tlo_entry_leaf_hash(&e, leaf);
            if (tlo_merkle_verify_inclusion(leaf, p->index, cp.size,
                                            (const uint8_t(*)[TLO_HASH_BYTES])p->hashes, p->nhashes,
                                            cp.root, &err) != 0) {
                cli_error("%s: entry %llu is NOT proven to be in the checkpoint: %s", path,
                          (unsigned long long)p->index, err.msg);
            } else {
                const char *kind = tlo_entry_kind_name(e.kind);
                char actor[17];
                tlo_hex(actor, e.actor, 8);
                printf("OK: entry %llu (%s, time %llu ms, signed by key %s) is in the ledger %s "
                       "of %llu entries, checkpoint signed by %s.\n",
                       (unsigned long long)e.seq, kind ? kind : "unknown kind",
                       (unsigned long long)e.time_ms, actor, cp.origin, (unsigned long long)cp.size,
                       v.name);
                rc = EXIT_OK;
            }
        }
        free(p);
    } else if (!strncmp(text, TLO_PROOF_CONSISTENCY_HEADER "\n",
                        strlen(TLO_PROOF_CONSISTENCY_HEADER) + 1)) {
        tlo_proof_consistency *p = calloc(1, sizeof *p);
        if (!old_path) {
            cli_error("a consistency proof is checked against the older checkpoint you kept: "
                      "give it with --old FILE");
            rc = EXIT_USAGE;
        } else if (!p) {
            rc = EXIT_SYSTEM;
        } else if (tlo_proof_consistency_open(text, len, &v, 1, v.name, p, &cp, &err) != 0) {
            cli_error("%s: %s", path, err.msg);
        } else if ((rc = open_checkpoint(old_path, &v, v.name, &old, &old_text)) != 0) {
            /* printed */
        } else if (old.size != p->old_size) {
            cli_error("%s is a proof from %llu entries, but %s has %llu", path,
                      (unsigned long long)p->old_size, old_path, (unsigned long long)old.size);
            rc = EXIT_BAD_DATA;
        } else if (tlo_merkle_verify_consistency(old.size, cp.size, old.root, cp.root,
                                                 (const uint8_t(*)[TLO_HASH_BYTES])p->hashes,
                                                 p->nhashes, &err) != 0) {
            cli_error("%s: the ledger of %llu entries does NOT extend %s: %s", path,
                      (unsigned long long)cp.size, old_path, err.msg);
            rc = EXIT_BAD_DATA;
        } else {
            printf("OK: the ledger %s of %llu entries extends the checkpoint %s of %llu entries; "
                   "both signed by %s.\n",
                   cp.origin, (unsigned long long)cp.size, old_path, (unsigned long long)old.size,
                   v.name);
            rc = EXIT_OK;
        }
        free(p);
    } else {
        cli_error("%s is not a proof tellonce writes (its first line is neither %s nor %s)", path,
                  TLO_PROOF_INCLUSION_HEADER, TLO_PROOF_CONSISTENCY_HEADER);
    }
    free(text);
    free(old_text);
    return rc;
}

/* Anchors for 'tellonce verify': the checkpoint the auditor brings, and the
 * vault's newest. Each is signature-checked first. */
int cli_checkpoint_anchors(tlo_chain *ch, const char *vault, const char *old_path,
                           tlo_chain_anchor *anchors, size_t *n, char **labels)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *text = NULL;
    tlo_note_verifier v;
    tlo_checkpoint cp;
    int rc = cli_vault_trust(ch, origin, sizeof origin, &v);
    *n = 0;
    if (rc)
        return rc;
    char *newest = cli_newest_checkpoint(vault);
    const char *paths[2] = {old_path, newest};
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        if ((rc = open_checkpoint(paths[i], &v, origin, &cp, &text)) != 0) {
            free(newest);
            return rc;
        }
        free(text);
        size_t ll = strlen(paths[i]) + 16;
        labels[*n] = malloc(ll);
        if (labels[*n])
            snprintf(labels[*n], ll, "checkpoint %s", paths[i]);
        anchors[*n].size = cp.size;
        memcpy(anchors[*n].root, cp.root, TLO_HASH_BYTES);
        anchors[*n].label = labels[*n] ? labels[*n] : "a checkpoint";
        (*n)++;
    }
    free(newest);
    return 0;
}
