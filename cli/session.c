/* What every porcelain command needs: where the vault is, passphrases, and
 * acting as an enrolled person.
 *
 * A vault is a directory (mode 0700):
 *   ledger.db          the custody ledger (chain/)
 *   custodian.id       the custodian's identity file (vault/identity.c), locked
 *                      with the random passphrase in custodian.secret (0600)
 *   people/KEYID.id    each person's identity file, locked with their passphrase */
#include "cli.h"
#include "service.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

char *cli_vault_dir(const char *opt)
{
    const char *env = getenv("TELLONCE_VAULT");
    char buf[4096];
    if (opt && *opt)
        return strdup(opt);
    if (env && *env)
        return strdup(env);
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, sizeof buf, "%s/tellonce/vault", xdg);
    else
        snprintf(buf, sizeof buf, "%s/.local/share/tellonce/vault", home && *home ? home : ".");
    return strdup(buf);
}

/* Asks on the terminal with echo off. */
static char *ask_tty(const char *prompt, size_t *len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    struct termios old, quiet;
    if (fd < 0)
        return NULL;
    if (tcgetattr(fd, &old) != 0) {
        close(fd);
        return NULL;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    /* echo off before the prompt shows: what is typed once it shows is
     * neither echoed nor flushed */
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0 || write(fd, prompt, strlen(prompt)) < 0) {
        tcsetattr(fd, TCSAFLUSH, &old);
        close(fd);
        return NULL;
    }
    char *p = tlo_vault_secret_line(fd, len);
    tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* nothing to do: the newline is cosmetic */
    }
    close(fd);
    return p;
}

/* Whether the last cli_passphrase asked on the terminal (a person typing,
 * who may try again) rather than reading a file or the environment. */
static bool asked_tty;

char *cli_passphrase(const char *file, const char *env_name, const char *prompt, int confirm,
                     size_t *len)
{
    const char *env = env_name ? getenv(env_name) : NULL;
    *len = 0;
    asked_tty = false;
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cli_error("cannot open passphrase file %s: %s", file, strerror(errno));
            return NULL;
        }
        char *p = tlo_vault_secret_line(fd, len);
        close(fd);
        if (p && *len == 0) {
            cli_error("passphrase file %s is empty", file);
            sodium_free(p);
            return NULL;
        }
        return p;
    }
    if (tlo_service_in_child()) {
        /* In the service the environment is the service's, never the
         * client's: only the passphrase the client forwarded (its
         * $TELLONCE_PASSPHRASE) stands in for the acting person's. */
        char *fwd = env_name && !strcmp(env_name, "TELLONCE_PASSPHRASE")
                        ? tlo_service_take_secret(len)
                        : NULL;
        if (fwd)
            return fwd;
        env = NULL;
    }
    if (env && *env) {
        size_t n = strlen(env);
        char *p = n <= TLO_SECRET_LINE_MAX ? sodium_malloc(n + 1) : NULL;
        if (!p) {
            cli_error("%s is too long", env_name);
            return NULL;
        }
        memcpy(p, env, n + 1);
        *len = n;
        return p;
    }
    if (!isatty(STDIN_FILENO) && (tlo_service_in_child() || access("/dev/tty", R_OK) != 0)) {
        cli_error("no passphrase: run this on a terminal, or use --passphrase-file (or %s)",
                  env_name ? env_name : "a file");
        return NULL;
    }
    asked_tty = true;
    char *p = ask_tty(prompt, len);
    if (!p) {
        cli_error("no passphrase: cannot ask on a terminal; use --passphrase-file");
        return NULL;
    }
    if (*len == 0) {
        cli_error("the passphrase is empty");
        sodium_free(p);
        return NULL;
    }
    if (confirm) {
        size_t len2;
        char *again = ask_tty(_("Repeat the passphrase: "), &len2);
        int same = again && len2 == *len && sodium_memcmp(again, p, *len) == 0;
        sodium_free(again);
        if (!same) {
            cli_error("the two passphrases differ; nothing was changed");
            sodium_free(p);
            return NULL;
        }
    }
    return p;
}

tlo_vault_kdf_cost cli_kdf_cost(void)
{
    /* The test suite creates many identities; it alone may ask for the cheaper
     * Argon2id cost. Documented in docs/cli.md. */
    const char *v = getenv("TELLONCE_TEST_FAST_KDF");
    return v && !strcmp(v, "1") ? TLO_KDF_INTERACTIVE : TLO_KDF_MODERATE;
}

tlo_custody *cli_open(const char *vault_opt, bool readonly, int *rc)
{
    /* In the service, its vault, whatever a client named. */
    char *dir = tlo_service_in_child() ? strdup(tlo_service_vault()) : cli_vault_dir(vault_opt);
    tlo_custody *v = NULL;
    tlo_error err = {0};
    *rc = EXIT_OK;
    if (!dir) {
        cli_error("out of memory");
        *rc = EXIT_SYSTEM;
    } else if (tlo_custody_open(dir, readonly, &v, &err) != 0) {
        *rc = cli_fail(&err);
        if (err.code == TLO_EIO && access(dir, R_OK | X_OK) != 0 && errno == EACCES)
            fputs(_("  It belongs to the custodian service: run tellonce as its client "
                    "(--socket PATH, or $TELLONCE_SOCKET; docs/service.md).\n"),
                  stderr);
    } else if (tlo_service_in_child()) {
        const tlo_service_peer *peer = tlo_service_client();
        tlo_custody_set_client(v, (uint32_t)peer->uid, (uint32_t)peer->pid);
        if (cli_service_custodian() &&
            tlo_custody_adopt_custodian(v, cli_service_custodian(), &err) != 0) {
            *rc = cli_fail(&err);
            tlo_custody_close(v);
            v = NULL;
        }
    }
    cli_time_zone(v);
    free(dir);
    return v;
}

bool cli_no_login;

tlo_vault_identity *cli_acting(tlo_custody *v, const char *as, const char *pass_file,
                               tlo_custody_act act, int *rc)
{
    return cli_acting_on(v, as, pass_file, act, NULL, rc);
}

/* Up to CLI_PASSPHRASE_TRIES passphrases typed on the terminal; one from a
 * file or the environment, which would not change. */
#define CLI_PASSPHRASE_TRIES 3
static tlo_vault_identity *unlock_tries(tlo_custody *v, const char *as, const char *pass_file,
                                        const char *prompt, tlo_custody_act act,
                                        const uint8_t *case_id, int *rc)
{
    tlo_vault_identity *id = NULL;
    for (int tries = 1;; tries++) {
        tlo_error err = {0};
        size_t len;
        char *pass = cli_passphrase(pass_file, "TELLONCE_PASSPHRASE", prompt, 0, &len);
        if (!pass) {
            *rc = EXIT_USAGE;
            return NULL;
        }
        bool again = asked_tty && tries < CLI_PASSPHRASE_TRIES;
        int r = tlo_custody_unlock_for(v, as, pass, len, act, case_id, &id, &err);
        sodium_free(pass);
        if (r == 0)
            return id;
        int code = cli_fail(&err); /* said at each try */
        if (err.code != TLO_EPASSPHRASE || !again) {
            *rc = code;
            if (err.code == TLO_EPASSPHRASE && asked_tty)
                cli_error("%d wrong passphrases for %s: giving up; run the command again, or ask "
                          "an administrator if the passphrase is lost",
                          tries, as);
            return NULL;
        }
    }
}

static tlo_vault_identity *acting_on(tlo_custody *v, const char *as, const char *pass_file,
                                     tlo_custody_act act, const uint8_t *case_id, int *rc);

tlo_vault_identity *cli_acting_on(tlo_custody *v, const char *as, const char *pass_file,
                                  tlo_custody_act act, const uint8_t *case_id, int *rc)
{
    /* the name as the ledger holds it (trimmed, NFC): the prompt and the
     * messages say that one */
    char *name = tlo_custody_text_norm(as);
    tlo_vault_identity *id = acting_on(v, name ? name : as, pass_file, act, case_id, rc);
    free(name);
    return id;
}

static tlo_vault_identity *acting_on(tlo_custody *v, const char *as, const char *pass_file,
                                     tlo_custody_act act, const uint8_t *case_id, int *rc)
{
    char *path = NULL, prompt[400];
    tlo_vault_identity *id = NULL;
    tlo_error err = {0};
    if (tlo_custody_identity_path(v, as, &path, &err) != 0) {
        *rc = cli_fail(&err);
        return NULL;
    }
    free(path);
    if (tlo_service_in_child() && !cli_no_login && (id = tlo_service_login_identity(as))) {
        /* logged in (tellonce login): still enrolled, still in that role? */
        if (tlo_custody_check_identity_for(v, id, act, case_id, &err) == 0)
            return id;
        tlo_vault_identity_free(id);
        *rc = cli_fail(&err);
        return NULL;
    }
    snprintf(prompt, sizeof prompt, _("Passphrase for %s: "), as);
    /* The custody core logs each wrong passphrase (unlock-failed) itself. */
    tlo_custody_set_command(v, cli_command);
    return unlock_tries(v, as, pass_file, prompt, act, case_id, rc);
}

int cli_case_ref(tlo_custody *v, const char *text, uint8_t case_id[static TLO_ID_BYTES],
                 tlo_custody_case *out)
{
    tlo_custody_case cs;
    tlo_error err = {0};
    if (tlo_custody_case_find(v, text, &cs, &err) != 0)
        return cli_fail(&err);
    memcpy(case_id, cs.id, TLO_ID_BYTES);
    if (out)
        *out = cs;
    return 0;
}

int cli_find_case(tlo_custody *v, const char *number, tlo_custody_case *out)
{
    uint8_t id[TLO_ID_BYTES];
    memset(out, 0, sizeof *out);
    return cli_case_ref(v, number, id, out);
}

int cli_session_ref(tlo_custody *v, const tlo_custody_case *cs, const char *text,
                    char id[static 33], uint8_t *case_id)
{
    tlo_custody_session_row row;
    tlo_error err = {0};
    if (tlo_custody_session_find(v, cs, text, &row, &err) != 0)
        return cli_fail(&err);
    memcpy(id, row.id, 33);
    if (case_id)
        memcpy(case_id, row.case_id, TLO_ID_BYTES);
    return 0;
}
