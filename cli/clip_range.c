/* The range play and export ask for, settled before any request is signed:
 * without --from/--to, what the person is granted; with them, checked
 * against those grants, so that a typo gets a message naming the granted
 * ranges and leaves no entry. The custodian decides again (and logs) on the
 * verified ledger; this only spares people a permanent refusal for a typo. */
#include "cli.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hms(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60));
}

/* "00:00:03 to 00:00:09, 00:00:20 to 00:00:30" (from index first on). */
static void ranges_text(char *out, size_t cap, const tlo_custody_range *r, size_t n, size_t first)
{
    out[0] = '\0';
    for (size_t i = first; i < n; i++) {
        char a[32], b[32];
        size_t k = strlen(out);
        hms(a, sizeof a, r[i].from_ms);
        hms(b, sizeof b, r[i].to_ms);
        if (i > first)
            snprintf(out + k, cap - k, ", ");
        k = strlen(out);
        /* TRANSLATORS: a range of a session: "00:00:03 to 00:00:09". */
        snprintf(out + k, cap - k, _("%s to %s"), a, b);
    }
}

/* Joins r (sorted by start) in place where ranges touch or overlap, as the
 * custodian does (custodian.c, cover): 0-10 s and 10-20 s are one range
 * 0-20 s, 0-10 s and 11-20 s stay two. Each joined range keeps the grant
 * number of its first grant. Returns how many there are now. */
static size_t join(tlo_custody_range *r, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && r[i].from_ms <= r[k - 1].to_ms) {
            if (r[i].to_ms > r[k - 1].to_ms)
                r[k - 1].to_ms = r[i].to_ms;
        } else {
            r[k++] = r[i];
        }
    }
    return k;
}

/* The (joined) range covering [from, to) (to UINT64_MAX: the end of the range that
 * holds from; from UINT64_MAX: the start of the range that holds to). */
static const tlo_custody_range *covering(const tlo_custody_range *r, size_t n, uint64_t from,
                                         uint64_t to)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t f = from == UINT64_MAX ? r[i].from_ms : from;
        uint64_t t = to == UINT64_MAX ? r[i].to_ms : to;
        if (f >= r[i].from_ms && t <= r[i].to_ms && t > f)
            return &r[i];
    }
    return NULL;
}

int cli_range_order(bool has_from, bool has_to, uint64_t from_ms, uint64_t to_ms)
{
    char a[32], b[32];
    if (has_from && has_to && to_ms <= from_ms) {
        hms(a, sizeof a, from_ms);
        hms(b, sizeof b, to_ms);
        if (to_ms < from_ms)
            cli_error("the range ends before it starts (--from %s, --to %s): give the earlier "
                      "time as --from; nothing was asked or logged",
                      a, b);
        else
            cli_error("the range --from %s --to %s is empty: --to must come after --from; "
                      "nothing was asked or logged",
                      a, b);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_clip_range(tlo_custody *v, const tlo_custody_case *cs, const char *session,
                   const tlo_vault_identity *actor, tlo_custody_action action, bool has_from,
                   bool has_to, uint64_t *from_ms, uint64_t *to_ms)
{
    char a[32], b[32], list[1200];
    tlo_custody_session s;
    tlo_custody_range *r = NULL;
    uint8_t me[32];
    size_t n = 0;
    tlo_error err = {0};
    if (cli_range_order(has_from, has_to, *from_ms, *to_ms) != 0)
        return EXIT_USAGE;
    if (tlo_custody_session_info(v, cs->id, session, &s, &err) != 0)
        return cli_fail(&err);
    crypto_hash_sha256(me, actor->sign_pk, 32);
    if (s.found && !memcmp(s.recorder, me, 32))
        return EXIT_OK; /* one's own recording: the whole session, the custodian checks */
    if (tlo_custody_granted_ranges(v, cs->id, session, actor->sign_pk, action, &r, &n, &err) != 0)
        return cli_fail(&err);
    int rc = EXIT_OK;
    if (n == 0) {
        /* No live grant: not a typo. The custodian refuses it, and logs
         * that this person asked. */
    } else if (!has_from && !has_to) {
        /* The first grant, joined with those that touch it: the custodian
         * releases a range that touching grants cover together. */
        n = join(r, n);
        *from_ms = r[0].from_ms;
        *to_ms = r[0].to_ms;
        hms(a, sizeof a, r[0].from_ms);
        hms(b, sizeof b, r[0].to_ms);
        if (n > 1) {
            ranges_text(list, sizeof list, r, n, 1);
            fprintf(stderr, "%s: ", cli_prog);
            fprintf(stderr,
                    _("note: %s is granted more than one range of this session; this is the "
                      "first, %s to %s. The others: %s; name one with --from and --to.\n"),
                    actor->name, a, b, list);
        }
    } else {
        n = join(r, n);
        const tlo_custody_range *g =
            covering(r, n, has_from ? *from_ms : UINT64_MAX, has_to ? *to_ms : UINT64_MAX);
        if (g) {
            *from_ms = has_from ? *from_ms : g->from_ms;
            *to_ms = has_to ? *to_ms : g->to_ms;
        } else {
            ranges_text(list, sizeof list, r, n, 0);
            hms(a, sizeof a, has_from ? *from_ms : 0);
            if (has_to)
                hms(b, sizeof b, *to_ms);
            else
                snprintf(b, sizeof b, "the end");
            cli_error("the range %s to %s of session %s is not within what %s is granted to %s: "
                      "%s. Name a range inside one of them (or leave out --from and --to for the "
                      "first); nothing was asked or logged",
                      a, b, session, actor->name, action == TLO_CUSTODY_VIEW ? "view" : "export",
                      list);
            rc = EXIT_USAGE;
        }
    }
    free(r);
    return rc;
}
