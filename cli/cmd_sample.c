/* tellonce sample — the custody of biological samples and other physical
 * evidence (docs/samples.md): register, transfer, receive, dispose, list,
 * show. Each verb is one call into custody/samples.c. */
#include "cli.h"
#include "cli_text.h"
#include "tlo_time.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *name, *usage, *about;
} subs[] = {
    {"register",
     "tellonce sample register CASE --label LABEL --kind KIND --seal-number N [--note NOTE]\n"
     "                         --as NAME [--passphrase-file FILE] [--vault DIR]",
     N_("Registers a sample taken from the child (medical staff): LABEL names it within the case\n"
        "(1 to 32 of A-Z a-z 0-9 . _ -, e.g. S-001), KIND is swab, blood, urine, hair, clothing\n"
        "or other, N is the number printed on its seal. NOTE (optional) is the sample collection\n"
        "note of the case it belongs to: its number in 'tellonce note list', its id or a prefix\n"
        "of it. NAME then holds the sample. A ledger entry (sample-register) signed by NAME.\n")},
    {"transfer",
     "tellonce sample transfer CASE LABEL --for NAME [--place TEXT] --as HOLDER\n"
     "                         [--passphrase-file FILE] [--vault DIR]",
     N_("Hands the sample over to NAME (sample-transfer, signed by its holder). The sample is\n"
        "\"in transfer\" until NAME signs its receipt with 'tellonce sample receive'; until then\n"
        "HOLDER still answers for it and it cannot be handed on or disposed of. TEXT says where\n"
        "(one line, at most 200 characters: a place, never a child's name or address).\n"
        "--to NAME, the older spelling, still works.\n")},
    {"receive",
     "tellonce sample receive CASE LABEL [--seal-intact yes|no] --as RECEIVER\n"
     "                        [--passphrase-file FILE] [--vault DIR]",
     N_("Signs the receipt of a sample handed to RECEIVER (sample-receive), who then holds it.\n"
        "--seal-intact no (default yes) records a broken seal: list, show and the report show "
        "it.\n")},
    {"dispose",
     "tellonce sample dispose CASE LABEL --reason TEXT --as HOLDER\n"
     "                        [--passphrase-file FILE] [--vault DIR]",
     N_("Records that the sample was disposed of (sample-dispose, signed by its holder; not while\n"
        "in transfer). TEXT says why (one line, at most 400 characters). Nothing can follow.\n")},
    {"list", "tellonce sample list CASE [--json] [--vault DIR]",
     N_("Every sample of CASE: its kind, seal number, state (held, in transfer, disposed), who\n"
        "holds it or whom it is handed to and since when, and any broken seal. From the ledger\n"
        "entries the custodian verified.\n")},
    {"show", "tellonce sample show CASE LABEL [--json] [--vault DIR]",
     N_("The whole chain of one sample: every entry, its time (local, with the UTC offset), who\n"
        "signed it and their roles, to whom it was handed and where, each seal's state.\n")},
};

static void sample_usage(FILE *f, const char *sub)
{
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (sub && !strcmp(sub, subs[i].name)) {
            fprintf(f, _("usage: %s\n\n%s"), subs[i].usage, _(subs[i].about));
            return;
        }
    fputs(_("usage:\n"), f);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        fprintf(f, "  %s\n", subs[i].usage);
    fputs(_("\nThe custody of biological samples and other physical evidence, in the ledger:\n"
            "'tellonce sample SUBCOMMAND --help' says what each does (docs/samples.md).\n"),
          f);
}

typedef struct sample_opts {
    const char *as, *pass_file, *vault, *label, *kind, *seal, *note, *to, *place, *intact, *reason;
    int json;
} sample_opts;

/* Options into o; -1 to go on, else the exit code. */
static int sample_options(const char *sub, int argc, char **argv, sample_opts *o)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"seal-number", required_argument, NULL, 's'},
                                         {"note", required_argument, NULL, 'n'},
                                         {"to", required_argument, NULL, 't'},
                                         {"place", required_argument, NULL, 'p'},
                                         {"seal-intact", required_argument, NULL, 'i'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"for", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            o->as = optarg;
            break;
        case 'P':
            o->pass_file = optarg;
            break;
        case 'V':
            o->vault = optarg;
            break;
        case 'l':
            o->label = optarg;
            break;
        case 'k':
            o->kind = optarg;
            break;
        case 's':
            o->seal = optarg;
            break;
        case 'n':
            o->note = optarg;
            break;
        case 't':
            o->to = optarg;
            break;
        case 'p':
            o->place = optarg;
            break;
        case 'i':
            o->intact = optarg;
            break;
        case 'r':
            o->reason = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            sample_usage(stdout, sub);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    return -1;
}

/* "2026-12-01 14:05:12 +08:00": local time with its offset. */
static void local_time(uint64_t ms, char *out, size_t cap)
{
    tlo_time_text(ms, out, cap);
}

/* "2026-12-01T14:05:12.345+08:00" for JSON. */
static void iso_time(uint64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char base[40], zone[8];
    if (!localtime_r(&t, &tm) || !strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) ||
        !strftime(zone, sizeof zone, "%z", &tm) || strlen(zone) != 5) {
        snprintf(out, cap, "%llu", (unsigned long long)ms);
        return;
    }
    snprintf(out, cap, "%s.%03u%.3s:%s", base, (unsigned)(ms % 1000), zone, zone + 3);
}

/* "王芳 (prosecutor)". */
static void who(const tlo_custody_sample_person *p, char *out, size_t cap)
{
    char roles[200];
    if (!p->roles) {
        snprintf(out, cap, _("%s (not enrolled)"), p->name);
        return;
    }
    cli_roles_text(p->roles, roles, sizeof roles);
    snprintf(out, cap, _("%s (%s)"), p->name, roles);
}

static void json_person(const char *key, const tlo_custody_sample_person *p)
{
    printf("\"%s\": {\"person\": ", key);
    cli_json_string(stdout, p->name);
    printf(", \"roles\": ");
    cli_json_roles(stdout, p->roles);
    printf("}");
}

static const char *step_action(uint16_t kind)
{
    switch (kind) {
    case TLO_ENTRY_SAMPLE_REGISTER:
        return "register";
    case TLO_ENTRY_SAMPLE_TRANSFER:
        return "transfer";
    case TLO_ENTRY_SAMPLE_RECEIVE:
        return "receive";
    default:
        return "dispose";
    }
}

/* One line of the state: "held by X since T", "in transfer to Y since T
 * (from X)", "disposed of by X at T". */
static void state_line(const tlo_custody_sample *s, char *out, size_t cap)
{
    char at[64], a[600], b[600];
    local_time(s->since_ms, at, sizeof at);
    who(&s->holder, a, sizeof a);
    if (s->state == TLO_SAMPLE_IN_TRANSFER) {
        who(&s->pending, b, sizeof b);
        snprintf(out, cap, _("in transfer to %s since %s (entry %llu), from %s: not yet received"),
                 b, at, (unsigned long long)s->pending_seq, a);
    } else if (s->state == TLO_SAMPLE_DISPOSED) {
        snprintf(out, cap, _("disposed of by %s at %s"), a, at);
    } else {
        snprintf(out, cap, _("held by %s since %s"), a, at);
    }
}

static void json_sample(const tlo_custody_sample *s, bool chain)
{
    char at[64];
    printf("{\"label\": ");
    cli_json_string(stdout, s->label);
    printf(", \"kind\": \"%s\", \"seal_number\": ", s->kind);
    cli_json_string(stdout, s->seal_number);
    printf(", \"note\": ");
    if (s->note[0])
        printf("\"%s\"", s->note);
    else
        printf("null");
    printf(", \"state\": \"%s\", ", tlo_custody_sample_state_name(s->state));
    json_person("holder", &s->holder);
    printf(", ");
    if (s->state == TLO_SAMPLE_IN_TRANSFER) {
        json_person("in_transfer_to", &s->pending);
        printf(", \"transfer_entry\": %llu", (unsigned long long)s->pending_seq);
    } else {
        printf("\"in_transfer_to\": null, \"transfer_entry\": null");
    }
    iso_time(s->since_ms, at, sizeof at);
    printf(", \"since\": \"%s\", \"since_ms\": %llu, \"seal_broken\": %s, \"registered_entry\": "
           "%llu",
           at, (unsigned long long)s->since_ms, s->seal_broken ? "true" : "false",
           (unsigned long long)s->registered_seq);
    printf(", \"entries\": %llu, \"entries_not_shown\": %llu", (unsigned long long)s->nentries,
           (unsigned long long)s->hidden);
    if (chain) {
        printf(", \"chain\": [");
        for (size_t i = 0; i < s->nsteps; i++) {
            const tlo_custody_sample_step *st = &s->steps[i];
            iso_time(st->time_ms, at, sizeof at);
            printf("%s\n  {\"entry\": %llu, \"time\": \"%s\", \"time_ms\": %llu, \"action\": "
                   "\"%s\", ",
                   i ? "," : "", (unsigned long long)st->seq, at, (unsigned long long)st->time_ms,
                   step_action(st->kind));
            json_person("by", &st->by);
            if (st->kind == TLO_ENTRY_SAMPLE_TRANSFER) {
                printf(", ");
                json_person("to", &st->to);
                printf(", \"place\": ");
                if (st->place[0])
                    cli_json_string(stdout, st->place);
                else
                    printf("null");
            } else if (st->kind == TLO_ENTRY_SAMPLE_RECEIVE) {
                printf(", \"seal_intact\": %s, \"transfer_entry\": %llu",
                       st->seal_intact ? "true" : "false", (unsigned long long)st->transfer);
            } else if (st->kind == TLO_ENTRY_SAMPLE_DISPOSE) {
                printf(", \"reason\": ");
                cli_json_string(stdout, st->reason);
            }
            printf("}");
        }
        printf("]");
    }
    printf("}");
}

static void text_step(const tlo_custody_sample_step *st)
{
    char at[64], a[600], b[600];
    local_time(st->time_ms, at, sizeof at);
    who(&st->by, a, sizeof a);
    char seq[24];
    snprintf(seq, sizeof seq, _("entry %llu"), (unsigned long long)st->seq);
    printf("  %s  ", at);
    cli_print_padded(stdout, seq, 12);
    putchar(' ');
    switch (st->kind) {
    case TLO_ENTRY_SAMPLE_REGISTER:
        printf(_("registered by %s, who holds it\n"), a);
        break;
    case TLO_ENTRY_SAMPLE_TRANSFER:
        who(&st->to, b, sizeof b);
        if (st->place[0])
            printf(_("handed over by %s to %s, at \"%s\"\n"), a, b, st->place);
        else
            printf(_("handed over by %s to %s\n"), a, b);
        break;
    case TLO_ENTRY_SAMPLE_RECEIVE:
        if (st->seal_intact)
            printf(_("received by %s (of entry %llu), seal intact\n"), a,
                   (unsigned long long)st->transfer);
        else
            printf(_("received by %s (of entry %llu), SEAL BROKEN\n"), a,
                   (unsigned long long)st->transfer);
        break;
    default:
        printf(_("disposed of by %s: %s\n"), a, st->reason);
        break;
    }
}

static int sample_read(const sample_opts *o, const char *sub, int argc, char **argv)
{
    bool show = !strcmp(sub, "show");
    if (argc - optind != (show ? 2 : 1)) {
        cli_error("sample %s takes CASE%s; see 'tellonce sample %s --help'", sub,
                  show ? " and LABEL" : "", sub);
        return EXIT_USAGE;
    }
    const char *number = argv[optind], *label = show ? argv[optind + 1] : NULL;
    tlo_custody_samples s;
    tlo_error err = {0};
    char line[2000];
    int rc;
    tlo_custody *v = cli_open(o->vault, true, &rc);
    if (!v)
        return rc;
    if (tlo_custody_samples_read(v, number, &s, &err) != 0) {
        rc = cli_fail(&err);
        tlo_custody_close(v);
        return rc;
    }
    if (s.problem[0])
        fprintf(stderr,
                _("%s: warning: %s; that entry is not honoured here: run 'tellonce verify'\n"),
                cli_prog, s.problem);
    const tlo_custody_sample *x = label ? tlo_custody_sample_find(&s, label) : NULL;
    if (label && !x) {
        cli_error("case %s has no sample %s: 'tellonce sample list %s' shows its samples", number,
                  label, number);
        rc = EXIT_USAGE;
    } else if (show && o->json) {
        json_sample(x, true);
        printf("\n");
    } else if (show) {
        if (x->note[0])
            printf(_("Sample %s of case %s: %s, seal number %s, note %s\n"), x->label, number,
                   x->kind, x->seal_number, x->note);
        else
            printf(_("Sample %s of case %s: %s, seal number %s\n"), x->label, number, x->kind,
                   x->seal_number);
        state_line(x, line, sizeof line);
        printf(_("State: %s\n"), line);
        if (x->seal_broken)
            fputs(_("Seal: BROKEN (a receipt says the seal was not intact)\n"), stdout);
        printf(_("Chain of custody (%llu entries):\n"), (unsigned long long)x->nentries);
        for (size_t i = 0; i < x->nsteps; i++) {
            text_step(&x->steps[i]);
            if (i == 0 && x->hidden)
                printf(_("  ... %llu earlier entries not shown (only the latest %d are kept "
                         "here); 'tellonce report' lists them all\n"),
                       (unsigned long long)x->hidden, TLO_SAMPLE_STEPS_MAX - 1);
        }
    } else if (o->json) {
        printf("[");
        for (size_t i = 0; i < s.n; i++) {
            printf("%s\n", i ? "," : "");
            json_sample(&s.list[i], false);
        }
        printf("]\n");
    } else if (!s.n) {
        printf(_("Case %s has no samples.\n"), number);
    } else {
        for (size_t i = 0; i < s.n; i++) {
            state_line(&s.list[i], line, sizeof line);
            cli_print_padded(stdout, s.list[i].label, 12);
            printf(" %-9s ", s.list[i].kind);
            /* TRANSLATORS: before a seal number in sample list */
            cli_print_padded(stdout, _("seal"), 4);
            putchar(' ');
            cli_print_padded(stdout, s.list[i].seal_number, 14);
            if (s.list[i].seal_broken)
                printf(_(" %s; SEAL BROKEN\n"), line);
            else
                printf(" %s\n", line);
        }
    }
    tlo_custody_samples_free(&s);
    tlo_custody_close(v);
    return rc;
}

/* The options of 'sample SUB' into *p and *act, checked: 0 or an exit code. */
static int sample_act_params(const sample_opts *o, const char *sub, int argc, char **argv,
                             tlo_custody_act *act_out, tlo_custody_sample_params *pp)
{
    tlo_custody_act act;
    bool reg = !strcmp(sub, "register");
    tlo_custody_sample_params p = {.seal_intact = true};
    if (reg)
        act = TLO_ACT_SAMPLE_REGISTER;
    else if (!strcmp(sub, "transfer"))
        act = TLO_ACT_SAMPLE_TRANSFER;
    else if (!strcmp(sub, "receive"))
        act = TLO_ACT_SAMPLE_RECEIVE;
    else
        act = TLO_ACT_SAMPLE_DISPOSE;
    if (argc - optind != (reg ? 1 : 2) || !o->as || (reg && !o->label)) {
        cli_error("sample %s takes CASE%s and --as; see 'tellonce sample %s --help'", sub,
                  reg ? ", --label, --kind, --seal-number" : " and LABEL", sub);
        return EXIT_USAGE;
    }
    p.case_number = argv[optind];
    p.label = reg ? o->label : argv[optind + 1];
    if (o->label && !reg) {
        cli_error("--label is for 'sample register': name the sample after CASE");
        return EXIT_USAGE;
    }
    if ((!reg && (o->kind || o->seal || o->note)) ||
        (act != TLO_ACT_SAMPLE_TRANSFER && (o->to || o->place)) ||
        (act != TLO_ACT_SAMPLE_RECEIVE && o->intact) ||
        (act != TLO_ACT_SAMPLE_DISPOSE && o->reason)) {
        cli_error("an option given is not one of 'sample %s': see 'tellonce sample %s --help'", sub,
                  sub);
        return EXIT_USAGE;
    }
    if (o->intact && strcmp(o->intact, "yes") && strcmp(o->intact, "no")) {
        cli_error("--seal-intact is yes or no");
        return EXIT_USAGE;
    }
    if (act == TLO_ACT_SAMPLE_TRANSFER && !o->to) {
        cli_error("sample transfer takes --for NAME: who takes the sample over");
        return EXIT_USAGE;
    }
    if (act == TLO_ACT_SAMPLE_DISPOSE && !o->reason) {
        cli_error("sample dispose takes --reason TEXT: why it is disposed of");
        return EXIT_USAGE;
    }
    p.sample_kind = o->kind;
    p.seal_number = o->seal;
    p.note = o->note;
    p.to = o->to;
    p.place = o->place;
    p.seal_intact = !o->intact || !strcmp(o->intact, "yes");
    p.reason = o->reason;
    *act_out = act;
    *pp = p;
    return 0;
}

/* What was done, for the person. */
static void sample_said(tlo_custody_act act, const tlo_custody_sample_params *pp,
                        const sample_opts *o, uint64_t seq)
{
    const tlo_custody_sample_params p = *pp;
    switch (act) {
    case TLO_ACT_SAMPLE_REGISTER:
        printf(_("Sample %s (%s, seal %s) of case %s registered as entry %llu; %s holds it.\n"),
               p.label, p.sample_kind, p.seal_number, p.case_number, (unsigned long long)seq,
               o->as);
        break;
    case TLO_ACT_SAMPLE_TRANSFER:
        printf(_("Sample %s handed over to %s as entry %llu: in transfer until %s runs "
                 "'tellonce sample receive %s %s'.\n"),
               p.label, p.to, (unsigned long long)seq, p.to, p.case_number, p.label);
        break;
    case TLO_ACT_SAMPLE_RECEIVE:
        if (p.seal_intact)
            printf(_("Sample %s received by %s as entry %llu (seal intact); %s holds it.\n"),
                   p.label, o->as, (unsigned long long)seq, o->as);
        else
            printf(_("Sample %s received by %s as entry %llu (seal BROKEN); %s holds it.\n"),
                   p.label, o->as, (unsigned long long)seq, o->as);
        break;
    default:
        printf(_("Sample %s disposed of by %s as entry %llu.\n"), p.label, o->as,
               (unsigned long long)seq);
        break;
    }
}

static int sample_act(const sample_opts *o, const char *sub, int argc, char **argv)
{
    tlo_custody_act act;
    tlo_custody_sample_params p;
    int rc = sample_act_params(o, sub, argc, argv, &act, &p);
    if (rc)
        return rc;
    tlo_vault_identity *actor = NULL;
    tlo_error err = {0};
    uint64_t seq = 0;
    tlo_custody *v = cli_open(o->vault, false, &rc);
    if (!v)
        return rc;
    tlo_custody_case cs;
    if (tlo_custody_sample_check(v, act, &p, &err) != 0) {
        rc = cli_fail(&err);
    } else if ((rc = cli_find_case(v, p.case_number, &cs)) != EXIT_OK) {
        /* said */
    } else if ((actor = cli_acting_on(v, o->as, o->pass_file, act, cs.id, &rc))) {
        int r =
            act == TLO_ACT_SAMPLE_REGISTER   ? tlo_custody_sample_register(v, actor, &p, &seq, &err)
            : act == TLO_ACT_SAMPLE_TRANSFER ? tlo_custody_sample_transfer(v, actor, &p, &seq, &err)
            : act == TLO_ACT_SAMPLE_RECEIVE  ? tlo_custody_sample_receive(v, actor, &p, &seq, &err)
                                             : tlo_custody_sample_dispose(v, actor, &p, &seq, &err);
        rc = r != 0 ? cli_fail(&err) : EXIT_OK;
    }
    if (actor && rc == EXIT_OK)
        sample_said(act, &p, o, seq);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

int cmd_sample(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;
    bool known = false;
    for (size_t i = 0; sub && i < sizeof subs / sizeof subs[0]; i++)
        known |= !strcmp(sub, subs[i].name);
    if (sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h"))) {
        sample_usage(stdout, NULL);
        return EXIT_OK;
    }
    if (!known) {
        if (sub)
            cli_error("'%s' is not a sample subcommand: register, transfer, receive, dispose, "
                      "list or show",
                      sub);
        else
            cli_error("sample needs a subcommand: register, transfer, receive, dispose, list or "
                      "show");
        cli_usage_hint();
        return EXIT_USAGE;
    }
    sample_opts o = {0};
    int rc = sample_options(sub, argc - 1, argv + 1, &o);
    if (rc >= 0)
        return rc;
    optind++; /* past the subcommand, as argv counts */
    if (!strcmp(sub, "list") || !strcmp(sub, "show")) {
        if (o.as || o.pass_file || o.label || o.kind || o.seal || o.note || o.to || o.place ||
            o.intact || o.reason) {
            cli_error("sample %s takes CASE%s, --json and --vault only", sub,
                      strcmp(sub, "show") ? "" : " LABEL");
            return EXIT_USAGE;
        }
        return sample_read(&o, sub, argc, argv);
    }
    if (o.json) {
        cli_error("--json is for 'sample list' and 'sample show'");
        return EXIT_USAGE;
    }
    return sample_act(&o, sub, argc, argv);
}
