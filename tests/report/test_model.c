/* The report's model (custody/report.c) of notes, samples, grants and
 * refusals, on a vault whose entries of the new kinds (32, 44, 50..55) are
 * appended here in the formats of the shared design, signed as the rules
 * say (the notes and samples commands are built elsewhere): versions of a
 * note kept together, a note grant, reads counted, a sample's custody
 * chain with its holder, a broken seal, a transfer not received staying
 * "in transfer", a revoked grant; and the page (cli/report_html.c) saying
 * so without the case number. */
#include "custody.h"
#include "internal.h"
#include "report.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tlo_vault_identity *unlock(tlo_custody *v, const char *name, const char *pass)
{
    tlo_vault_identity *id = NULL;
    tlo_error err = {0};
    CHECK_MSG(
        tlo_custody_unlock(v, name, pass, strlen(pass), TLO_ROLES_PERSON, "person", &id, &err) == 0,
        "unlock %s: %s", name, err.msg);
    return id;
}

static void enrol(tlo_custody *v, const tlo_vault_identity *admin, const char *name, unsigned roles)
{
    tlo_custody_user_params up = {.name = name,
                                  .roles = roles,
                                  .passphrase = "a long passphrase",
                                  .passphrase_len = 17,
                                  .kdf = TLO_KDF_INTERACTIVE};
    tlo_custody_enrolment en;
    tlo_error err = {0};
    CHECK_MSG(tlo_custody_user_add(v, admin, &up, &en, &err) == 0, "user add %s: %s", name,
              err.msg);
}

static uint64_t append(tlo_custody *v, const tlo_vault_identity *id, uint16_t kind,
                       const uint8_t *case_id, const char *body)
{
    uint64_t seq = 0;
    tlo_error err = {0};
    CHECK_MSG(custody_append(v, id, kind, case_id, body, &seq, &err) == 0, "append %u: %s", kind,
              err.msg);
    return seq;
}

/* coverage_chart_past_256 (review finding 9): a session viewed by 300
 * people, in a model built here, has a band for every one of them; the
 * chart used to stop at the 256th without a word. */
static void coverage_chart_past_256(void)
{
    enum { N = 300 };
    tlo_custody_report *r = calloc(1, sizeof *r);
    tlo_custody_report_session *s = calloc(1, sizeof *s);
    tlo_custody_report_person *people = calloc(N, sizeof *people);
    tlo_custody_report_access *acc = calloc(N, sizeof *acc);
    char *page = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&page, &len);
    CHECK(r && s && people && acc && f);
    if (!r || !s || !people || !acc || !f) {
        free(r), free(s), free(people), free(acc);
        return;
    }
    for (int i = 0; i < N; i++) {
        snprintf(people[i].name, sizeof people[i].name, "Viewer %03d", i);
        people[i].roles = TLO_ROLE_PROSECUTOR;
        acc[i] = (tlo_custody_report_access){
            .seq = 10 + (uint64_t)i, .person = i, .from_ms = 1000, .to_ms = 5000};
    }
    *s = (tlo_custody_report_session){.no = 1, .length_ms = 10000, .access = acc, .naccess = N};
    snprintf(s->id, sizeof s->id, "%032d", 0);
    snprintf(s->status, sizeof s->status, "ended");
    r->person = people;
    r->npeople = N;
    r->session = s;
    r->nsessions = 1;
    r->verified = true;
    CHECK(tlo_report_write_html(r, f) == 0);
    fclose(f);
    size_t bands = 0;
    for (const char *p = page; p && (p = strstr(p, "<g class=\"band\"")) != NULL; p++)
        bands++;
    CHECK_MSG(bands == N, "coverage_chart_past_256: %zu bands for %d viewers", bands, N);
    CHECK_MSG(page && strstr(page, "data-person=\"Viewer 299 (prosecutor)\"") != NULL,
              "coverage_chart_past_256: the 300th viewer is not drawn");
    free(page);
    free(acc);
    free(people);
    free(s);
    free(r);
}

/* report_checkpoint_words: a checkpoint that covers every entry is not
 * "no checkpoint" (the page said so, in red, whenever nothing was left
 * uncovered); no checkpoint is, and entries past it are counted. */
static void report_checkpoint_words(void)
{
    static const struct {
        uint64_t entries, size;
        const char *has, *lacks;
    } cases[] = {
        {25, 25, "the newest the custodian signed: 25 entries", "holds no checkpoint"},
        {25, 25, "Every entry is covered by that checkpoint", "not yet covered"},
        {30, 25, "The last 5 entries are not yet covered", "holds no checkpoint"},
        {30, 0, "The vault holds no checkpoint", "not yet covered"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlo_custody_report *r = calloc(1, sizeof *r);
        char *page = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&page, &len);
        CHECK(r && f);
        if (!r || !f) {
            free(r);
            return;
        }
        r->verified = true;
        r->entries = cases[i].entries;
        r->checkpoint_size = cases[i].size;
        CHECK(tlo_report_write_html(r, f) == 0);
        fclose(f);
        CHECK_MSG(page && strstr(page, cases[i].has) != NULL,
                  "report_checkpoint_words: %llu entries, checkpoint of %llu: no '%s'",
                  (unsigned long long)cases[i].entries, (unsigned long long)cases[i].size,
                  cases[i].has);
        CHECK_MSG(page && strstr(page, cases[i].lacks) == NULL,
                  "report_checkpoint_words: %llu entries, checkpoint of %llu: '%s'",
                  (unsigned long long)cases[i].entries, (unsigned long long)cases[i].size,
                  cases[i].lacks);
        free(page);
        free(r);
    }
}

int main(void)
{
    tlo_error err = {0};
    char dir[] = "/tmp/report-model.XXXXXX", vault[256], body[1024], pk[65], html[300];
    CHECK(tlo_vault_init(&err) == 0);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(vault, sizeof vault, "%s/vault", dir);
    snprintf(html, sizeof html, "%s/report.html", dir);
    tlo_custody_init_params ip = {.admin_name = "Anna Admin",
                                  .passphrase = "a long passphrase",
                                  .passphrase_len = 17,
                                  .kdf = TLO_KDF_INTERACTIVE};
    tlo_custody_init_result ir;
    tlo_custody *v = NULL;
    CHECK_MSG(tlo_custody_init(vault, &ip, &ir, &err) == 0, "init: %s", err.msg);
    CHECK_MSG(tlo_custody_open(vault, false, &v, &err) == 0, "open: %s", err.msg);
    if (!v)
        return tu_finish("report_model");
    tlo_vault_identity *admin = unlock(v, "Anna Admin", "a long passphrase");
    enrol(v, admin, "Dr Med", TLO_ROLE_MEDICAL);
    enrol(v, admin, "王芳", TLO_ROLE_PROSECUTOR);
    tlo_vault_identity *doc = unlock(v, "Dr Med", "a long passphrase");
    tlo_vault_identity *fang = unlock(v, "王芳", "a long passphrase");
    tlo_vault_identity *cust = NULL;
    CHECK(custody_custodian(v, &cust, &err) == 0);
    tlo_custody_case cs;
    tlo_custody_case_params cp = {.number = "2026-刑-0099", .child_name = "Xiao Ming"};
    CHECK_MSG(tlo_custody_case_open(v, admin, &cp, &cs, &err) == 0, "case open: %s", err.msg);
    if (!admin || !doc || !fang || !cust)
        return tu_finish("report_model");
    char fang_pk[65];
    tlo_hex(fang_pk, fang->sign_pk, 32);
    tlo_hex(pk, doc->sign_pk, 32);
    (void)pk;

    /* A note and its amendment. */
    const char *n1 = "c0000000000000000000000000000001", *n1b = "c0000000000000000000000000000002";
    snprintf(body, sizeof body,
             "bytes=5300000\nciphertext_sha256=%064d\nfiles=2\nnote=%s\nnote_kind=exam\n"
             "object=%s\nplaintext_sha256=%064d\ntext_bytes=120\nversion=1\n",
             0, n1, n1, 0);
    append(v, doc, TLO_ENTRY_NOTE, cs.id, body);
    snprintf(body, sizeof body,
             "bytes=5300100\nciphertext_sha256=%064d\nfiles=2\nnote=%s\nnote_kind=exam\n"
             "object=%s\nplaintext_sha256=%064d\nreplaces=%s\ntext_bytes=180\nversion=2\n",
             0, n1, n1b, 0, n1);
    append(v, doc, TLO_ENTRY_NOTE, cs.id, body);
    snprintf(body, sizeof body,
             "expires_ms=4102444799999\nnote=%s\npurpose=trial\nto=%s\nto_name=王芳\n", n1,
             fang_pk);
    uint64_t g = append(v, admin, TLO_ENTRY_NOTE_GRANT, cs.id, body);
    snprintf(body, sizeof body,
             "action=show\nactor=%s\nbasis=grant\ngrant=%llu\nnote=%s\nobject=%s\npurpose=trial\n"
             "result=granted\n",
             fang_pk, (unsigned long long)g, n1, n1b);
    append(v, cust, TLO_ENTRY_NOTE_ACCESS, cs.id, body);
    snprintf(body, sizeof body, "grant=%llu\nreason=trial over\n", (unsigned long long)g);
    append(v, admin, TLO_ENTRY_GRANT_REVOKE, cs.id, body);
    snprintf(body, sizeof body,
             "action=get\nactor=%s\nnote=%s\nobject=%s\nreason=the grant is revoked\n"
             "result=refused\n",
             fang_pk, n1, n1b);
    append(v, cust, TLO_ENTRY_NOTE_ACCESS, cs.id, body);
    /* Two samples: one handed over with its seal broken, one in transfer. */
    append(v, doc, TLO_ENTRY_SAMPLE_REGISTER, cs.id,
           "label=S-001\nsample_kind=swab\nseal_number=SEAL/42\n");
    snprintf(body, sizeof body, "label=S-001\nplace=front desk\nto=%s\nto_name=王芳\n", fang_pk);
    uint64_t t = append(v, doc, TLO_ENTRY_SAMPLE_TRANSFER, cs.id, body);
    snprintf(body, sizeof body, "label=S-001\nseal_intact=no\ntransfer=%llu\n",
             (unsigned long long)t);
    append(v, fang, TLO_ENTRY_SAMPLE_RECEIVE, cs.id, body);
    append(v, doc, TLO_ENTRY_SAMPLE_REGISTER, cs.id,
           "label=S-002\nsample_kind=blood\nseal_number=SEAL/43\n");
    snprintf(body, sizeof body, "label=S-002\nto=%s\nto_name=王芳\n", fang_pk);
    append(v, doc, TLO_ENTRY_SAMPLE_TRANSFER, cs.id, body);
    snprintf(body, sizeof body, "action=mark\nactor=%s\nreason=only an interviewer may\n", fang_pk);
    append(v, cust, TLO_ENTRY_ACTION_REFUSED, cs.id, body);
    CHECK_MSG(custody_seal(v, &err) == 0, "seal: %s", err.msg);

    tlo_custody_report r;
    tlo_custody_report_params p = {.case_id = cs.id};
    CHECK_MSG(tlo_custody_report_build(v, &p, &r, &err) == 0, "report: %s", err.msg);
    if (!r.verified)
        printf("note: the ledger does not verify here: %s\n", r.problem);
    CHECK(r.checkpoint_size > 0 && strlen(r.checkpoint_root) == 64);
    CHECK(strstr(r.verify_command, "tellonce verify --vault '") == r.verify_command);
    CHECK(r.nnotes == 1);
    if (r.nnotes == 1) {
        CHECK(!strcmp(r.note[0].kind, "exam") && r.note[0].nversions == 2);
        CHECK(r.note[0].author >= 0 && !strcmp(r.person[r.note[0].author].name, "Dr Med"));
        CHECK(r.note[0].version[1].version == 2 && r.note[0].version[1].text_bytes == 180);
        CHECK(r.note[0].reads == 1 && r.note[0].refused == 1);
    }
    CHECK(r.ngrants == 1);
    if (r.ngrants == 1) {
        CHECK(r.grant[0].note && r.grant[0].note_no == 1);
        CHECK_MSG(!strcmp(r.grant[0].status, "revoked"), "grant status %s", r.grant[0].status);
        CHECK(r.grant[0].to >= 0 && !strcmp(r.person[r.grant[0].to].name, "王芳"));
    }
    CHECK(r.nsamples == 2);
    if (r.nsamples == 2) {
        CHECK(r.sample[0].broken_seal && !strcmp(r.sample[0].state, "held"));
        CHECK(r.sample[0].holder >= 0 && !strcmp(r.person[r.sample[0].holder].name, "王芳"));
        CHECK(r.sample[0].nevents == 3);
        CHECK_MSG(!strcmp(r.sample[1].state, "in transfer") && !r.sample[1].broken_seal,
                  "S-002 is %s", r.sample[1].state);
        CHECK(!strcmp(r.sample[1].to_name, "王芳"));
        CHECK(r.sample[1].holder >= 0 && !strcmp(r.person[r.sample[1].holder].name, "Dr Med"));
    }
    /* the refused note read and the action refused */
    CHECK_MSG(r.nrefusals == 2, "%zu refusals", r.nrefusals);
    for (size_t i = 0; i < r.nrefusals; i++)
        CHECK_MSG(strstr(r.refusal[i].text, "王芳 (prosecutor) was refused") == r.refusal[i].text,
                  "refusal: %s", r.refusal[i].text);

    FILE *f = fopen(html, "w+");
    CHECK(f && tlo_report_write_html(&r, f) == 0);
    if (f) {
        long n = ftell(f);
        char *page = calloc(1, (size_t)n + 1);
        rewind(f);
        CHECK(page && fread(page, 1, (size_t)n, f) == (size_t)n);
        if (page) {
            CHECK(strstr(page, "SEAL BROKEN") != NULL);
            CHECK(strstr(page, "S-002 (blood, seal SEAL/43): in transfer to 王芳") != NULL);
            CHECK(strstr(page, "2026-刑-0099") == NULL && strstr(page, "Xiao Ming") == NULL);
            CHECK(strstr(page, "<td>revoked (entry") != NULL);
        }
        free(page);
        fclose(f);
    }
    tlo_custody_report_free(&r);
    tlo_vault_identity_free(cust);
    tlo_vault_identity_free(doc);
    tlo_vault_identity_free(fang);
    tlo_vault_identity_free(admin);
    tlo_custody_close(v);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    coverage_chart_past_256();
    report_checkpoint_words();
    return tu_finish("report_model");
}
