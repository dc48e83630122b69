/* Text for a terminal's columns: how wide a text shows (East Asian wide
 * characters take two columns, combining marks none), and printing a text
 * cleaned and padded to a width, so a table's columns line up whatever the
 * script of a name. Widths follow GLib's Unicode tables. */
#include "cli.h"
#include "cli_text.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int cli_text_width(const char *utf8)
{
    const char *p = utf8;
    size_t left = strlen(utf8);
    int width = 0;
    while (left) {
        gunichar c = g_utf8_get_char_validated(p, (gssize)left);
        if (c == (gunichar)-1 || c == (gunichar)-2) { /* a byte cli_clean_text shows as U+FFFD */
            width++;
            p++;
            left--;
            continue;
        }
        size_t len = (size_t)g_utf8_skip[*(const guchar *)p];
        if (c < 0x20 || (c >= 0x7f && c < 0xa0)) /* shown as '?' */
            width++;
        else if (!g_unichar_iszerowidth(c))
            width += g_unichar_iswide(c) ? 2 : 1;
        p += len;
        left -= len;
    }
    return width;
}

void cli_print_padded(FILE *f, const char *s, int width)
{
    size_t cap = 3 * strlen(s) + 1;
    char *shown = malloc(cap);
    if (shown)
        cli_clean_text(shown, cap, s);
    const char *text = shown ? shown : "(out of memory)";
    fputs(text, f);
    for (int w = cli_text_width(text); w < width; w++)
        fputc(' ', f);
    free(shown);
}

/* Role names as tables show them, in the reader's language (typed, and in
 * JSON and CSV, they stay as chain/entry.c spells them). */
static const struct {
    unsigned bit;
    const char *name;
} role_text[] = {
    /* TRANSLATORS: role names in tables (user list, log, note list, roles) */
    {TLO_ROLE_ADMIN, N_("admin")},           {TLO_ROLE_INTERVIEWER, N_("interviewer")},
    {TLO_ROLE_PROSECUTOR, N_("prosecutor")}, {TLO_ROLE_MEDICAL, N_("medical")},
    {TLO_ROLE_AUDITOR, N_("auditor")},       {TLO_ROLE_PSYCHOLOGIST, N_("psychologist")},
    {TLO_ROLE_LEGAL_AID, N_("legal-aid")},   {TLO_ROLE_SOCIAL_WORKER, N_("social-worker")},
    {TLO_ROLE_CUSTODIAN, N_("custodian")},
};

void cli_roles_text(unsigned roles, char *out, size_t cap)
{
    size_t used = 0;
    if (!cap)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof role_text / sizeof role_text[0]; i++) {
        if (!(roles & role_text[i].bit))
            continue;
        /* TRANSLATORS: between two role names in a list ("admin, auditor") */
        int n = snprintf(out + used, cap - used, "%s%s", used ? _(", ") : "", _(role_text[i].name));
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}

void cli_person_text(const tlo_custody_person *p, char *out, size_t cap)
{
    char roles[200];
    if (!p) {
        snprintf(out, cap, "%s", _("an unknown key"));
        return;
    }
    if (p->roles == TLO_ROLE_CUSTODIAN) {
        snprintf(out, cap, "%s", _("the custodian"));
        return;
    }
    cli_roles_text(p->roles, roles, sizeof roles);
    /* TRANSLATORS: a person and their roles: "Anna Admin (admin)" */
    snprintf(out, cap, _("%s (%s)"), p->name, roles);
}

/* Roles in words ("an administrator, an interviewer or a prosecutor"), in
 * the order of custody/roles.c's role_words. */
static void role_words_text(unsigned roles, char *out, size_t cap)
{
    static const unsigned order[] = {
        TLO_ROLE_ADMIN,   TLO_ROLE_INTERVIEWER,  TLO_ROLE_PROSECUTOR, TLO_ROLE_MEDICAL,
        TLO_ROLE_AUDITOR, TLO_ROLE_PSYCHOLOGIST, TLO_ROLE_LEGAL_AID,  TLO_ROLE_SOCIAL_WORKER};
    const char *w[8];
    size_t n = 0, used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        if (roles & order[k])
            w[n++] = _(tlo_custody_role_words(order[k]));
    for (size_t k = 0; k < n; k++) {
        /* TRANSLATORS: in a list of roles: "a prosecutor, medical staff or an auditor" */
        const char *sep = !k ? "" : k + 1 == n ? _(" or ") : _(", ");
        int len = snprintf(out + used, cap - used, "%s%s", sep, w[k]);
        if (len < 0 || (size_t)len >= cap - used)
            return;
        used += (size_t)len;
    }
}

/* One clause of who may take an action, with its condition (as
 * tlo_custody_act_who words it). */
static void clause_text(unsigned roles, unsigned when, char *out, size_t cap)
{
    char list[400];
    if (when == TLO_WHEN_AUTHOR) {
        snprintf(out, cap, "%s", _("the note's author"));
        return;
    }
    if (when == TLO_WHEN_PROFESSION) {
        snprintf(out, cap, "%s", _("someone of the author's profession who works on the case"));
        return;
    }
    if (when == TLO_WHEN_HOLDER) {
        snprintf(out, cap, "%s", _("whoever holds the sample now (never an auditor)"));
        return;
    }
    if (when == TLO_WHEN_RECEIVER) {
        snprintf(out, cap, "%s", _("the person it is being handed to (never an auditor)"));
        return;
    }
    if (roles == TLO_ROLES_PERSON)
        snprintf(list, sizeof list, "%s", _("anyone enrolled"));
    else if (roles == (TLO_ROLES_PERSON & ~(unsigned)TLO_ROLE_AUDITOR))
        snprintf(list, sizeof list, "%s", _("anyone enrolled but an auditor"));
    else
        role_words_text(roles, list, sizeof list);
    if (when == TLO_WHEN_GRANTED)
        snprintf(out, cap, _("%s with a grant"), list);
    else if (when == TLO_WHEN_RECORDER)
        snprintf(out, cap, _("%s who recorded the session"), list);
    else if (when == TLO_WHEN_OPENER)
        snprintf(out, cap, _("%s who opened the case"), list);
    else
        snprintf(out, cap, "%s", list);
}

void cli_act_who(tlo_custody_act a, char *out, size_t cap)
{
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(a);
    size_t used = 0;
    if (!cap)
        return;
    out[0] = '\0';
    for (size_t i = 0; r && i < TLO_CUSTODY_MAY_CLAUSES && r->may[i].roles; i++) {
        char one[400];
        clause_text(r->may[i].roles, r->may[i].when, one, sizeof one);
        /* TRANSLATORS: between two clauses of who may do something */
        int n = snprintf(out + used, cap - used, "%s%s", i ? _("; or ") : "", one);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}
