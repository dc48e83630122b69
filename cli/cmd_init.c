/* tellonce init — create a vault: the ledger, the custodian's keys and the
 * first administrator, bound together by a genesis entry that both sign. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void init_usage(FILE *f)
{
    fprintf(f, "usage: tellonce init --admin NAME [--vault DIR] [--origin ORIGIN]\n"
               "                     [--passphrase-file FILE]\n"
               "\n"
               "Creates a vault in DIR (default: $TELLONCE_VAULT, else\n"
               "~/.local/share/tellonce/vault): the custody ledger, the custodian's keys, and the\n"
               "identity of the first administrator NAME, whose passphrase is asked twice (or\n"
               "read from FILE or $TELLONCE_PASSPHRASE: less safe, for scripts). The genesis\n"
               "entry of the ledger is signed by the administrator and the custodian.\n"
               "ORIGIN names the ledger in its checkpoints (default: tellonce/vault/ and a\n"
               "random id).\n");
}

static int mkdir_private(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        cli_error("cannot create the directory %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"admin", required_argument, NULL, 'a'},  {"vault", required_argument, NULL, 'V'},
        {"origin", required_argument, NULL, 'o'}, {"passphrase-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *admin_name = NULL, *vault_opt = NULL, *origin_opt = NULL, *pass_file = NULL;
    char *vault = NULL, *ledger_path = NULL, *cust_id_path = NULL, *cust_secret_path = NULL;
    char *people = NULL, *admin_path = NULL, *pass = NULL, *secret = NULL;
    tlo_vault_identity *cust = NULL, *admin = NULL;
    tlo_chain *chain = NULL;
    tlo_error err = {0};
    int c, rc = EXIT_USAGE;
    size_t pass_len;

    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            admin_name = optarg;
            break;
        case 'V':
            vault_opt = optarg;
            break;
        case 'o':
            origin_opt = optarg;
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 'h':
            init_usage(stdout);
            return EXIT_OK;
        default:
            init_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!admin_name || optind != argc) {
        cli_error("init needs --admin NAME (the first administrator); see 'tellonce init --help'");
        return EXIT_USAGE;
    }
    if (origin_opt && (!*origin_opt || strpbrk(origin_opt, " +\n\t"))) {
        cli_error("--origin must be non-empty without spaces or '+'");
        return EXIT_USAGE;
    }
    vault = cli_vault_dir(vault_opt);
    ledger_path = tlo_path_join(vault, "ledger.db");
    cust_id_path = tlo_path_join(vault, "custodian.id");
    cust_secret_path = tlo_path_join(vault, "custodian.secret");
    people = tlo_path_join(vault, "people");
    struct stat st;
    if (stat(ledger_path, &st) == 0 || stat(cust_id_path, &st) == 0) {
        cli_error("%s is already a tellonce vault; nothing was changed", vault);
        goto out;
    }
    /* Everything that can fail without writing comes first. */
    if (!(admin = tlo_vault_identity_generate(admin_name, &err))) {
        rc = cli_fail(&err);
        goto out;
    }
    char prompt[400];
    snprintf(prompt, sizeof prompt, "New passphrase for %s: ", admin_name);
    if (!(pass = cli_passphrase(pass_file, "TELLONCE_PASSPHRASE", prompt, 1, &pass_len)))
        goto out;
    rc = EXIT_SYSTEM;
    if (!(cust = tlo_vault_identity_generate("custodian", &err))) {
        rc = cli_fail(&err);
        goto out;
    }

    /* The vault directory, the custodian (locked with a random secret kept
     * beside it, readable only by the vault's owner), the administrator. */
    if (mkdir_private(vault) != 0 || mkdir_private(people) != 0)
        goto out;
    uint8_t raw[32];
    secret = sodium_malloc(65);
    if (!secret)
        goto out;
    randombytes_buf(raw, sizeof raw);
    tlo_hex(secret, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    if (cli_write_new_file(cust_secret_path, secret, 64, 0600) != 0)
        goto out;
    if (tlo_vault_identity_save(cust, cust_id_path, secret, 64, TLO_KDF_INTERACTIVE, &err) != 0) {
        rc = cli_fail(&err);
        goto undo;
    }
    char kid[2 * TLO_KEYID_BYTES + 1], file[64];
    tlo_vault_identity_key_id(kid, admin);
    snprintf(file, sizeof file, "%s.id", kid);
    admin_path = tlo_path_join(people, file);
    if (tlo_vault_identity_save(admin, admin_path, pass, pass_len, cli_kdf_cost(), &err) != 0) {
        rc = cli_fail(&err);
        goto undo;
    }

    /* The ledger and its genesis entry. */
    char origin[200], a_box[65], a_pk[65], c_box[65], c_pk[65], sig_hex[129], body[2048];
    if (origin_opt) {
        snprintf(origin, sizeof origin, "%s", origin_opt);
    } else {
        uint8_t id[8];
        char hex[17];
        randombytes_buf(id, sizeof id);
        tlo_hex(hex, id, sizeof id);
        snprintf(origin, sizeof origin, "tellonce/vault/%s", hex);
    }
    tlo_hex(a_box, admin->box_pk, 32);
    tlo_hex(a_pk, admin->sign_pk, 32);
    tlo_hex(c_box, cust->box_pk, 32);
    tlo_hex(c_pk, cust->sign_pk, 32);
    int n = snprintf(body, sizeof body,
                     "admin.box_pk=%s\nadmin.name=%s\nadmin.pk=%s\ncustodian.box_pk=%s\n"
                     "custodian.pk=%s\norigin=%s\n",
                     a_box, admin->name, a_pk, c_box, c_pk, origin);
    size_t mlen;
    uint8_t *msg = tlo_chain_genesis_message((const uint8_t *)body, (size_t)n, &mlen), sig[64];
    if (!msg)
        goto undo;
    crypto_sign_detached(sig, NULL, msg, mlen, cust->sign_sk);
    free(msg);
    tlo_hex(sig_hex, sig, sizeof sig);
    n = snprintf(body, sizeof body,
                 "admin.box_pk=%s\nadmin.name=%s\nadmin.pk=%s\ncustodian.box_pk=%s\n"
                 "custodian.pk=%s\ncustodian.sig=%s\norigin=%s\n",
                 a_box, admin->name, a_pk, c_box, c_pk, sig_hex, origin);
    if (!(chain = tlo_chain_create(ledger_path, &err))) {
        rc = cli_fail(&err);
        goto undo;
    }
    tlo_chain_draft d = {.kind = TLO_ENTRY_GENESIS, .body = (uint8_t *)body, .body_len = (size_t)n};
    tlo_chain_signer s = {.sk = admin->sign_sk};
    memcpy(s.pk, admin->sign_pk, 32);
    if (tlo_chain_append(chain, &d, 1, &s, NULL, &err) != 0) {
        rc = cli_fail(&err);
        goto undo;
    }
    printf("Created the vault %s\n"
           "  ledger         %s (entry 0: genesis, signed by %s and the custodian)\n"
           "  origin         %s\n"
           "  administrator  %s, key id %s\n"
           "Next: 'tellonce user add NAME --role ROLE --as \"%s\"' enrols people.\n",
           vault, ledger_path, admin->name, origin, admin->name, kid, admin->name);
    rc = EXIT_OK;
    goto out;

undo:
    /* Leave no half-made vault behind. */
    tlo_chain_close(chain);
    chain = NULL;
    unlink(ledger_path);
    for (const char *suffix = "-wal"; suffix; suffix = suffix[1] == 'w' ? "-shm" : NULL) {
        char extra[4200];
        snprintf(extra, sizeof extra, "%s%s", ledger_path, suffix);
        unlink(extra);
    }
    if (admin_path)
        unlink(admin_path);
    unlink(cust_id_path);
    unlink(cust_secret_path);
out:
    tlo_chain_close(chain);
    tlo_vault_identity_free(admin);
    tlo_vault_identity_free(cust);
    sodium_free(pass);
    sodium_free(secret);
    free(vault);
    free(ledger_path);
    free(cust_id_path);
    free(cust_secret_path);
    free(people);
    free(admin_path);
    return rc;
}
