/* tellonce settings [show [--json]] | settings set KEY VALUE --as ADMIN — the
 * vault's settings, each a signed ledger entry (docs/settings.md). Also the
 * display zone every command shows times in (cli_time_zone). */
#include "cli.h"
#include "cli_text.h"
#include "tlo_time.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void settings_usage(FILE *f)
{
    fputs(_("usage: tellonce settings [show] [--json] [--vault DIR]\n"
            "       tellonce settings set KEY VALUE --as ADMIN [--passphrase-file FILE]\n"
            "                [--vault DIR]\n"
            "\n"
            "The vault's settings. Each is a ledger entry signed by an administrator; the\n"
            "newest wins, and an empty VALUE (\"\") unsets it. The keys:\n"
            "  timezone      the time zone times are shown in, and in which a grant's\n"
            "                --expires DAY ends: an IANA name such as Asia/Shanghai\n"
            "                (unset: the system's)\n"
            "  default-room  the room 'record' uses without --room: simulated, or the\n"
            "                full path of a room profile (docs/rooms.md)\n"),
          f);
}

void cli_time_zone(tlo_custody *v)
{
    char zone[TLO_TIME_ZONE_MAX + 1];
    tlo_error err = {0};
    /* For showing times only (a grant's --expires reads the setting
     * verified by the custodian): times carry their offset, so a vault
     * whose setting cannot be read shows them, still right, in the
     * system's zone. */
    if (v && tlo_custody_settings_present(v) &&
        tlo_custody_setting_shown(v, "timezone", zone, sizeof zone, &err) == 1)
        (void)tlo_time_set_zone(zone);
}

static int settings_show(const char *vault_opt, bool json)
{
    size_t n;
    const tlo_custody_setting_key *keys = tlo_custody_setting_keys(&n);
    tlo_error err = {0};
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    if (tlo_custody_people(v, NULL, NULL, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (json)
        printf("{\"settings\":[");
    for (size_t i = 0; i < n; i++) {
        char value[1100], when[TLO_TIME_TEXT_MAX], who[TLO_NAME_MAX + 64], clean[3400];
        uint64_t seq = 0, time_ms = 0;
        uint8_t actor[32] = {0};
        int set = tlo_custody_setting_entry(v, keys[i].key, value, sizeof value, &seq, &time_ms,
                                            actor, &err);
        if (set < 0) {
            if (json)
                printf("]}\n");
            rc = cli_fail(&err);
            goto out;
        }
        tlo_custody_person_words(set ? tlo_custody_person_by_actor(v, actor) : NULL, who,
                                 sizeof who);
        if (json) {
            printf("%s{\"key\":", i ? "," : "");
            cli_json_string(stdout, keys[i].key);
            printf(",\"set\":%s,\"value\":", set ? "true" : "false");
            if (set) {
                cli_json_string(stdout, value);
                const tlo_custody_person *by = tlo_custody_person_by_actor(v, actor);
                printf(",\"entry\":%llu,\"time_ms\":%llu,\"person\":", (unsigned long long)seq,
                       (unsigned long long)time_ms);
                cli_json_string(stdout, by ? by->name : "");
                printf(",\"person_roles\":");
                cli_json_roles(stdout, by ? by->roles : 0);
            } else {
                printf("null");
            }
            printf("}");
            continue;
        }
        if (!set) {
            printf(_("%-13s (not set)\n"), keys[i].key);
            continue;
        }
        char clean_who[3 * sizeof who + 1];
        cli_person_text(tlo_custody_person_by_actor(v, actor), who, sizeof who);
        tlo_time_text(time_ms, when, sizeof when);
        cli_clean_text(clean, sizeof clean, value);
        cli_clean_text(clean_who, sizeof clean_who, who);
        printf(_("%-13s %s    (entry %llu, %s, by %s)\n"), keys[i].key, clean,
               (unsigned long long)seq, when, clean_who);
    }
    if (json) {
        printf("]}\n");
    } else {
        char zone[TLO_TIME_ZONE_MAX + 1];
        bool sys;
        tlo_time_zone_name(zone, sizeof zone, &sys);
        if (sys)
            printf(_("Times are shown in this system's time zone (%s), with their offset.\n"),
                   zone);
        else
            printf(_("Times are shown in %s, with their offset.\n"), zone);
    }
    rc = EXIT_OK;
out:
    tlo_custody_close(v);
    return rc;
}

static int settings_set(const char *vault_opt, const char *key, const char *value, const char *as,
                        const char *pass_file)
{
    tlo_vault_identity *admin = NULL;
    tlo_error err = {0};
    uint64_t seq;
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    /* The value first: a typo is told before the passphrase is asked. */
    if (tlo_custody_setting_check(v, key, value, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(admin = cli_acting(v, as, pass_file, TLO_ACT_SETTINGS_SET, &rc)))
        goto out;
    if (tlo_custody_setting_set(v, admin, key, value, &seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (*value)
        printf(_("Set %s to %s in ledger entry %llu, signed by %s.\n"), key, value,
               (unsigned long long)seq, as);
    else
        printf(_("Unset %s in ledger entry %llu, signed by %s.\n"), key, (unsigned long long)seq,
               as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(admin);
    tlo_custody_close(v);
    return rc;
}

int cmd_settings(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault = NULL, *pass_file = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            as = optarg;
            break;
        case 'V':
            vault = optarg;
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            settings_usage(stdout);
            return EXIT_OK;
        default:
            cli_error("see 'tellonce settings --help'");
            return EXIT_USAGE;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs == 0 || (nargs == 1 && !strcmp(args[0], "show"))) {
        if (as || pass_file) {
            cli_error("settings show takes neither --as nor --passphrase-file: anyone may read "
                      "the settings");
            return EXIT_USAGE;
        }
        return settings_show(vault, json);
    }
    if (!strcmp(args[0], "set") && nargs == 3) {
        if (!as) {
            cli_error("settings set needs --as ADMIN: an administrator signs the setting");
            return EXIT_USAGE;
        }
        if (json) {
            cli_error("settings set takes no --json: it prints one line");
            return EXIT_USAGE;
        }
        return settings_set(vault, args[1], args[2], as, pass_file);
    }
    cli_error("see 'tellonce settings --help': settings show [--json], or settings set KEY VALUE "
              "--as ADMIN");
    return EXIT_USAGE;
}
