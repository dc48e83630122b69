/* tellonce checkpoint, prove, verify-proof — signed tree heads of the custody
 * ledger and the proofs an outsider checks against them (docs/ledger-formats.md).
 * The custody core signs, keeps and logs checkpoints (tlo_custody_checkpoint)
 * and makes and checks proofs (custody/proof.c); these commands read options
 * and print. */
#include "cli.h"
#include "tlo_time.h"
#include "note.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes text to path, or to standard output for NULL or "-". */
static int write_out(const char *path, const char *text, size_t len)
{
    tlo_error err = {0};
    if (!path || !strcmp(path, "-"))
        return fwrite(text, 1, len, stdout) == len ? 0 : EXIT_SYSTEM;
    if (tlo_write_new_file(path, text, len, 0644, &err) != 0) {
        cli_fail(&err);
        return EXIT_SYSTEM;
    }
    return 0;
}

/* ---- tellonce checkpoint ------------------------------------------------- */

static void checkpoint_usage(FILE *f)
{
    fputs(_("usage: tellonce checkpoint [--vault DIR] [-o FILE] [--publish PUBDIR] [--json]\n"
            "       tellonce checkpoint --verifier-key [--vault DIR] [--json]\n"
            "\n"
            "Verifies the ledger, then writes a checkpoint of it signed by the custodian (a\n"
            "C2SP tlog-checkpoint signed note), keeps it in the vault's checkpoints/, records\n"
            "it as a ledger entry, and copies it to FILE if given. --publish copies every\n"
            "checkpoint of the vault that PUBDIR (an absolute directory on another disk or\n"
            "share) lacks into it; 'publish=PUBDIR' in the vault's vault.conf does that for\n"
            "every checkpoint as it is made. --verifier-key prints the custodian's verifier\n"
            "key (name+keyid+key) for signed-note tools and auditors. --json prints it as\n"
            "one JSON object (docs/json.md).\n"),
          f);
}

/* --json on checkpoint, prove (docs/json.md). */
static bool json_out;

static int print_verifier_key(const tlo_note_verifier *key, const char *origin)
{
    char vkey[TLO_NOTE_VKEY_MAX];
    tlo_error err = {0};
    if (tlo_note_verifier_format(key, vkey, sizeof vkey, &err) != 0)
        return cli_fail(&err);
    if (json_out) {
        printf("{\"verifier_key\":");
        cli_json_string(stdout, vkey);
        printf(",\"origin\":");
        cli_json_string(stdout, origin);
        printf("}\n");
    } else {
        printf("%s\n", vkey);
    }
    return EXIT_OK;
}

static void print_checkpoint_json(const tlo_custody_checkpoint_info *c, const char *root_hex,
                                  const char *out_path, const char *publish, size_t copied)
{
    printf("{\"size\":%llu,\"root\":\"%s\",\"origin\":", (unsigned long long)c->size, root_hex);
    cli_json_string(stdout, c->origin);
    printf(",\"path\":");
    cli_json_string(stdout, c->path);
    printf(",\"output\":");
    if (out_path)
        cli_json_string(stdout, out_path);
    else
        printf("null");
    printf(",\"entry\":%llu,\"published_to\":", (unsigned long long)c->seq);
    if (publish)
        cli_json_string(stdout, publish);
    else
        printf("null");
    printf(",\"published\":%zu,\"note\":", copied);
    cli_json_bytes(stdout, c->note, c->note_len);
    printf("}\n");
}

static int write_checkpoint(tlo_custody *v, const char *out_path, const char *publish)
{
    tlo_custody_checkpoint_info c;
    tlo_error err = {0};
    char root_hex[65];
    if (tlo_custody_checkpoint(v, &c, &err) != 0)
        return cli_fail(&err);
    int rc = out_path ? write_out(out_path, c.note, c.note_len) : 0;
    size_t copied = 0;
    if (rc == 0 && publish && tlo_custody_checkpoint_publish(v, publish, &copied, &err) != 0)
        rc = cli_fail(&err);
    if (rc == 0 && json_out) {
        tlo_hex(root_hex, c.root, 32);
        print_checkpoint_json(&c, root_hex, out_path, publish, copied);
    } else if (rc == 0) {
        tlo_hex(root_hex, c.root, 32);
        if (out_path)
            printf(_("Checkpoint of %llu entries (root %s), signed by the custodian as %s.\n"
                     "  kept in %s, copied to %s\n"
                     "  logged as entry %llu\n"),
                   (unsigned long long)c.size, root_hex, c.origin, c.path, out_path,
                   (unsigned long long)c.seq);
        else
            printf(_("Checkpoint of %llu entries (root %s), signed by the custodian as %s.\n"
                     "  kept in %s\n"
                     "  logged as entry %llu\n"),
                   (unsigned long long)c.size, root_hex, c.origin, c.path,
                   (unsigned long long)c.seq);
        if (publish)
            printf(_("  published to %s (%zu checkpoints copied there)\n"), publish, copied);
    }
    tlo_custody_checkpoint_info_free(&c);
    return rc;
}

static int checkpoint_args(int argc, char **argv, const char **vault_opt, const char **out_path,
                           const char **publish, int *want_vkey)
{
    static const struct option opts[] = {{"vault", required_argument, NULL, 'V'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"verifier-key", no_argument, NULL, 'k'},
                                         {"publish", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            *vault_opt = optarg;
            break;
        case 'o':
            *out_path = optarg;
            break;
        case 'k':
            *want_vkey = 1;
            break;
        case 'p':
            *publish = optarg;
            break;
        case 'j':
            json_out = true;
            break;
        case 'h':
            checkpoint_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_usage_hint();
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_checkpoint(int argc, char **argv)
{
    const char *vault_opt = NULL, *out_path = NULL, *publish = NULL;
    char origin[TLO_NOTE_NAME_MAX + 1];
    int want_vkey = 0,
        rc = checkpoint_args(argc, argv, &vault_opt, &out_path, &publish, &want_vkey);
    tlo_note_verifier key;
    tlo_error err = {0};
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    tlo_custody *v = cli_open(vault_opt, want_vkey, &rc);
    if (!v)
        return rc;
    if (tlo_custody_trust(v, origin, sizeof origin, &key, &err) != 0) {
        rc = cli_fail(&err);
    } else if (want_vkey) {
        rc = print_verifier_key(&key, origin);
    } else if (out_path && access(out_path, F_OK) == 0) {
        cli_error("%s already exists; tellonce never overwrites a file", out_path);
        rc = EXIT_USAGE;
    } else {
        rc = write_checkpoint(v, out_path, publish);
    }
    tlo_custody_close(v);
    return rc;
}

/* ---- tellonce prove ------------------------------------------------------ */

static void prove_usage(FILE *f)
{
    fputs(_("usage: tellonce prove --entry N [--checkpoint FILE] [--vault DIR] [-o OUT] [--json]\n"
            "       tellonce prove --from OLD [--to NEW] [--vault DIR] [-o OUT] [--json]\n"
            "\n"
            "--entry: an inclusion proof (c2sp.org/tlog-proof@v1) that entry N is in the\n"
            "checkpoint (default: the vault's newest), carrying the entry itself.\n"
            "--from: a consistency proof that the checkpoint NEW (default: the newest)\n"
            "extends the older checkpoint OLD. Written to OUT or standard output; check it\n"
            "with 'tellonce verify-proof', which needs no ledger. --json prints the proof's\n"
            "text inside a JSON object (docs/json.md) instead.\n"),
          f);
}

typedef struct prove_args {
    const char *vault_opt, *cp_opt, *from, *out_path;
    uint64_t index;
    int have_entry;
} prove_args;

static int prove_args_parse(int argc, char **argv, prove_args *a)
{
    static const struct option opts[] = {{"vault", required_argument, NULL, 'V'},
                                         {"entry", required_argument, NULL, 'e'},
                                         {"checkpoint", required_argument, NULL, 'c'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof *a);
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            a->vault_opt = optarg;
            break;
        case 'e':
            if (tlo_parse_u64(optarg, &a->index) != 0) {
                cli_error("--entry takes an entry number");
                return EXIT_USAGE;
            }
            a->have_entry = 1;
            break;
        case 'c':
        case 't':
            a->cp_opt = optarg;
            break;
        case 'f':
            a->from = optarg;
            break;
        case 'o':
            a->out_path = optarg;
            break;
        case 'j':
            json_out = true;
            break;
        case 'h':
            prove_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* prove --json: the proof's text in an object, into -o OUT or stdout. */
static int print_proof_json(const prove_args *a, const char *proof, size_t len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        cli_error("out of memory for the proof's JSON; run prove without --json");
        return EXIT_SYSTEM;
    }
    fprintf(f, "{\"proof\":\"%s\",", a->have_entry ? "inclusion" : "consistency");
    if (a->have_entry)
        fprintf(f, "\"entry\":%llu,\"from\":null,", (unsigned long long)a->index);
    else {
        fprintf(f, "\"entry\":null,\"from\":");
        cli_json_string(f, a->from);
        fputc(',', f);
    }
    fprintf(f, "\"checkpoint\":");
    if (a->cp_opt)
        cli_json_string(f, a->cp_opt);
    else
        fputs("null", f);
    fprintf(f, ",\"text\":");
    cli_json_bytes(f, proof, len);
    fputs("}\n", f);
    fclose(f);
    int rc = write_out(a->out_path, buf, n);
    free(buf);
    return rc;
}

int cmd_prove(int argc, char **argv)
{
    prove_args a;
    char *out = NULL;
    size_t out_len = 0;
    tlo_error err = {0};
    int rc = prove_args_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (optind != argc || a.have_entry == !!a.from) {
        cli_error("prove takes either --entry N or --from OLD; see 'tellonce prove --help'");
        return EXIT_USAGE;
    }
    if (a.out_path && strcmp(a.out_path, "-") && access(a.out_path, F_OK) == 0) {
        cli_error("%s already exists; tellonce never overwrites a file", a.out_path);
        return EXIT_USAGE;
    }
    tlo_custody *v = cli_open(a.vault_opt, true, &rc);
    if (!v)
        return rc;
    if (a.have_entry)
        rc = tlo_custody_prove_entry(v, a.index, a.cp_opt, &out, &out_len, &err);
    else
        rc = tlo_custody_prove_consistency(v, a.from, a.cp_opt, &out, &out_len, &err);
    if (rc)
        rc = cli_fail(&err);
    else if (json_out)
        rc = print_proof_json(&a, out, out_len);
    else
        rc = write_out(a.out_path, out, out_len);
    free(out);
    tlo_custody_close(v);
    return rc;
}

/* ---- tellonce verify-proof ---------------------------------------------- */

static void verify_proof_usage(FILE *f)
{
    fputs(_("usage: tellonce verify-proof FILE (--verifier-key KEY | --vault DIR) [--old OLD]\n"
            "\n"
            "Checks a proof written by 'tellonce prove' without the ledger database: the\n"
            "checkpoint's signature by KEY (the custodian's verifier key, as 'tellonce\n"
            "checkpoint --verifier-key' prints it; --vault reads it from a vault's ledger),\n"
            "then the Merkle proof. An inclusion proof shows the entry it proves. A\n"
            "consistency proof also needs OLD, the older checkpoint the auditor kept.\n"
            "Exit status 0 when the proof holds, 1 when it does not.\n"),
          f);
}

typedef struct verify_proof_args {
    const char *vkey, *vault_opt, *old_path, *path;
} verify_proof_args;

static int verify_proof_args_parse(int argc, char **argv, verify_proof_args *a)
{
    static const struct option opts[] = {{"verifier-key", required_argument, NULL, 'k'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"old", required_argument, NULL, 'O'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof *a);
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            a->vkey = optarg;
            break;
        case 'V':
            a->vault_opt = optarg;
            break;
        case 'O':
            a->old_path = optarg;
            break;
        case 'h':
            verify_proof_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !!a->vkey == !!a->vault_opt) {
        cli_error("verify-proof takes one FILE and either --verifier-key KEY or --vault DIR");
        return EXIT_USAGE;
    }
    a->path = argv[optind];
    return 0;
}

/* The custodian's key: given, or read from a vault's genesis entry. */
static int proof_key(const verify_proof_args *a, tlo_note_verifier *key)
{
    char origin[TLO_NOTE_NAME_MAX + 1];
    tlo_error err = {0};
    int rc;
    if (a->vkey) {
        if (tlo_note_verifier_parse(key, a->vkey, strlen(a->vkey), &err) != 0) {
            cli_error("--verifier-key: %s", err.msg);
            return EXIT_USAGE;
        }
        return 0;
    }
    tlo_custody *v = cli_open(a->vault_opt, true, &rc);
    if (v && tlo_custody_trust(v, origin, sizeof origin, key, &err) != 0)
        rc = cli_fail(&err);
    tlo_custody_close(v);
    return rc;
}

int cmd_verify_proof(int argc, char **argv)
{
    verify_proof_args a;
    tlo_note_verifier key;
    tlo_custody_proof_result r;
    tlo_error err = {0};
    int rc = verify_proof_args_parse(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if ((rc = proof_key(&a, &key)) != 0)
        return rc;
    if (tlo_custody_proof_check(a.path, &key, a.old_path, &r, &err) != 0)
        return cli_fail(&err);
    if (r.inclusion) {
        const char *kind = tlo_entry_kind_name(r.entry_kind);
        char actor[17], when[TLO_TIME_TEXT_MAX];
        tlo_hex(actor, r.actor, 8);
        tlo_time_text(r.time_ms, when, sizeof when);
        printf(_("OK: entry %llu (%s, logged %s, signed by key %s) is in the ledger %s "
                 "of %llu entries, checkpoint signed by %s.\n"),
               (unsigned long long)r.seq, kind ? kind : "unknown kind", when, actor, r.cp.origin,
               (unsigned long long)r.cp.size, key.name);
    } else {
        printf(_("OK: the ledger %s of %llu entries extends the checkpoint %s of %llu entries; "
                 "both signed by %s.\n"),
               r.cp.origin, (unsigned long long)r.cp.size, a.old_path,
               (unsigned long long)r.old_size, key.name);
    }
    return EXIT_OK;
}
