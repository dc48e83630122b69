/* The words of every kind of entry (custody/describe.c), on entries built
 * here: the person behind a custodian-signed entry is the one its actor
 * field names; session N is the Nth session-start of the case; note N the
 * Nth note; the kinds of notes, samples and refusals (32, 44, 50..55) have
 * words; a long hostile value is cut at a character boundary; no wording
 * says "custodian" for a person's view. Then every entry again under
 * zh_CN: no English word is left but the values of the entry and names
 * (describe_zh_cn_has_no_english), and a describer set to English says
 * under zh_CN what it says in the C locale (describe_english_for_json). */
#include "custody.h"
#include "testutil.h"
#include "tlo_time.h"

#include <ctype.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tlo_custody_person people[4];
static char pkhex[4][65];
static const uint8_t case_a[16] = {1}, case_b[16] = {2};

static void person(int i, const char *name, unsigned roles)
{
    snprintf(people[i].name, sizeof people[i].name, "%s", name);
    randombytes_buf(people[i].pk, 32);
    crypto_hash_sha256(people[i].actor, people[i].pk, 32);
    people[i].roles = roles;
    people[i].revoked_at = -1;
    people[i].activated_at = -1;
    tlo_hex(pkhex[i], people[i].pk, 32);
}

enum { CUST, ADMIN, FANG, DOC };
static uint64_t seq;

/* An entry of kind signed by signer, of case (NULL: none), with body (its
 * lines in key order, as a canonical body is). */
static tlo_entry entry(uint16_t kind, int signer, const uint8_t *cs, const char *body)
{
    seq++;
    tlo_entry e = {.seq = seq, .time_ms = 1764600000000ULL + seq, .kind = kind};
    const char *why = "";
    if (cs) {
        e.has_case = true;
        memcpy(e.case_id, cs, 16);
    }
    memcpy(e.actor, people[signer].actor, 32);
    e.body = (const uint8_t *)body;
    e.body_len = strlen(body);
    CHECK_MSG(tlo_entry_body_valid(e.body, e.body_len, &why), "body of kind %u: %s", kind, why);
    return e;
}

static char text[4096];
static tlo_custody_describer *d;

/* Every entry described, its body copied, and the English words of it. */
#define KEPT_MAX 64
static struct kept {
    tlo_entry e;
    char *body, *english;
} kept[KEPT_MAX];
static size_t nkept;

static void keep(const tlo_entry *e, const char *words)
{
    CHECK(nkept < KEPT_MAX);
    if (nkept >= KEPT_MAX)
        return;
    struct kept *k = &kept[nkept++];
    k->e = *e;
    k->body = malloc(e->body_len + 1);
    k->english = strdup(words);
    CHECK(k->body && k->english);
    memcpy(k->body, e->body, e->body_len);
    k->body[e->body_len] = '\0';
    k->e.body = (const uint8_t *)k->body;
}

#define SAYS(kind, signer, cs, body, needle)                                                       \
    do {                                                                                           \
        tlo_entry e_ = entry(kind, signer, cs, body);                                              \
        tlo_custody_describe(d, &e_, text, sizeof text);                                           \
        keep(&e_, text);                                                                           \
        CHECK_MSG(strstr(text, needle) != NULL, "kind %u says \"%s\", not \"%s\"", kind, text,     \
                  needle);                                                                         \
        CHECK_MSG(strstr(text, "does not know") == NULL, "kind %u has no words: %s", kind, text);  \
    } while (0)

static const char *sess(int i)
{
    static const char *s[] = {"a0000000000000000000000000000001",
                              "a0000000000000000000000000000002",
                              "b0000000000000000000000000000001"};
    return s[i];
}

/* Whether the ASCII word w (n letters) is one the entry itself holds (a
 * value of its body) or a person's name holds: those stay as they are. */
static bool word_from_entry(const struct kept *k, const char *w, size_t n)
{
    char word[64];
    if (n >= sizeof word)
        return false;
    memcpy(word, w, n);
    word[n] = '\0';
    if (!strcmp(word, "SHA") || !strcmp(word, "tellonce"))
        return true;
    for (const char *v = strchr(k->body, '='); v; v = strchr(v + 1, '=')) {
        const char *end = strchr(v, '\n');
        size_t len = end ? (size_t)(end - v) : strlen(v);
        for (size_t i = 0; i + n <= len; i++)
            if (!memcmp(v + i, word, n))
                return true;
    }
    for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
        if (strstr(people[i].name, word))
            return true;
    return false;
}

/* describe_zh_cn_has_no_english and describe_english_for_json: the
 * entries of the English pass again, in a new describer each (the numbers
 * are learnt again in the same order). */
static void describe_in_chinese(void)
{
    const char *dir = getenv("TELLONCE_LOCALEDIR");
    tlo_custody_describer *zh = NULL, *en = NULL;
    CHECK_MSG(dir && *dir, "TELLONCE_LOCALEDIR is not set (the build's po folder)");
    CHECK_MSG(setlocale(LC_ALL, "zh_CN.UTF-8") != NULL,
              "no zh_CN.UTF-8 locale: run scripts/install-deps");
    if (!dir || !setlocale(LC_ALL, "zh_CN.UTF-8"))
        return;
    bindtextdomain(TLO_TEXT_DOMAIN, dir);
    CHECK(tlo_custody_describer_new(people, 4, &zh, NULL) == 0);
    CHECK(tlo_custody_describer_new(people, 4, &en, NULL) == 0);
    tlo_custody_describer_set_english(en, 1);
    for (size_t i = 0; i < nkept; i++) {
        char zht[4096];
        tlo_custody_describe(zh, &kept[i].e, zht, sizeof zht);
        tlo_custody_describe(en, &kept[i].e, text, sizeof text);
        CHECK_MSG(!strcmp(text, kept[i].english),
                  "describe_english_for_json: kind %u in English mode under zh_CN says \"%s\", "
                  "not \"%s\"",
                  kept[i].e.kind, text, kept[i].english);
        for (const char *c = zht; *c;) { /* the first English word of each, if any */
            if (!isalpha((unsigned char)*c)) {
                c++;
                continue;
            }
            size_t n = 0;
            while (isalpha((unsigned char)c[n]))
                n++;
            CHECK_MSG(n < 2 || word_from_entry(&kept[i], c, n),
                      "describe_zh_cn_has_no_english: kind %u says \"%s\": \"%.*s\" is English",
                      kept[i].e.kind, zht, (int)n, c);
            c = n < 2 || word_from_entry(&kept[i], c, n) ? c + n : "";
        }
        free(kept[i].body);
        free(kept[i].english);
    }
    tlo_custody_describer_free(zh);
    tlo_custody_describer_free(en);
    setlocale(LC_ALL, "C");
}

int main(void)
{
    char body[2048];
    if (sodium_init() < 0 || tlo_time_set_zone("Asia/Shanghai") != 0)
        return 1;
    person(CUST, "custodian", TLO_ROLE_CUSTODIAN);
    person(ADMIN, "Anna Admin", TLO_ROLE_ADMIN);
    person(FANG, "王芳", TLO_ROLE_PROSECUTOR);
    person(DOC, "Dr <b>Med</b>", TLO_ROLE_MEDICAL);
    CHECK(tlo_custody_describer_new(people, 4, &d, NULL) == 0);

    SAYS(TLO_ENTRY_GENESIS, ADMIN, NULL, "origin=tellonce/vault/x\n",
         "Anna Admin (admin) created the vault");
    snprintf(body, sizeof body, "box_pk=00\nname=王芳\npk=%s\nroles=prosecutor\n", pkhex[FANG]);
    SAYS(TLO_ENTRY_USER_ADD, ADMIN, NULL, body, "Anna Admin (admin) enrolled 王芳 as prosecutor");
    SAYS(TLO_ENTRY_CASE_OPEN, ADMIN, case_a, "info_object=00\n",
         "Anna Admin (admin) opened the case");
    /* Two sessions of case A, one of case B between them: B's is its session 1. */
    snprintf(body, sizeof body, "cameras=2\nmicrophones=1\nroom=simulated\nsession=%s\n", sess(0));
    SAYS(TLO_ENTRY_SESSION_START, ADMIN, case_a, body, "started session 1 in room simulated");
    snprintf(body, sizeof body, "cameras=1\nmicrophones=1\nroom=r\nsession=%s\n", sess(2));
    SAYS(TLO_ENTRY_SESSION_START, ADMIN, case_b, body, "started session 1");
    snprintf(body, sizeof body, "cameras=2\nmicrophones=1\nroom=simulated\nsession=%s\n", sess(1));
    SAYS(TLO_ENTRY_SESSION_START, ADMIN, case_a, body, "started session 2");
    snprintf(body, sizeof body, "bytes=100\nend_ms=4000\nindex=0\nsession=%s\nstart_ms=0\n",
             sess(1));
    SAYS(TLO_ENTRY_SEGMENT, ADMIN, case_a, body,
         "sealed segment 0 of session 2, 00:00:00\u201300:00:04");
    snprintf(body, sizeof body, "at_ms=5250\nsession=%s\ntext=disclosure\n", sess(1));
    SAYS(TLO_ENTRY_MARKER, ADMIN, case_a, body,
         "marked 00:00:05.250 of session 2: \u201cdisclosure\u201d");
    snprintf(body, sizeof body,
             "at_ms=3000\ndevice=camera 2\nevent=lost\nmessage=gone\nsession=%s\nthen=slate\n",
             sess(1));
    SAYS(TLO_ENTRY_DEVICE_EVENT, ADMIN, case_a, body, "camera 2 lost at 00:00:03 of session 2");
    snprintf(body, sizeof body,
             "device_events=1\nmarkers=1\nmedia_ms=12000\nsegments=3\nsession=%s\nstatus=ended\n",
             sess(1));
    SAYS(TLO_ENTRY_SESSION_END, ADMIN, case_a, body,
         "ended session 2: 00:00:12 recorded, 3 segments");
    snprintf(body, sizeof body, "recovered_ms=100\nsegments=2\nsession=%s\n", sess(0));
    SAYS(TLO_ENTRY_SESSION_RECOVERED, ADMIN, case_a, body,
         "closed session 1 after an interruption");
    snprintf(body, sizeof body,
             "actions=view\nexpires_ms=4102444799999\nfrom_ms=2000\npurpose=hearing\nsession=%s\n"
             "to=%s\nto_name=王芳\nuntil_ms=12000\n",
             sess(1), pkhex[FANG]);
    SAYS(TLO_ENTRY_GRANT, ADMIN, case_a, body,
         "Anna Admin (admin) granted 王芳 (prosecutor) a view of 00:00:02\u201300:00:12 of session "
         "2 "
         "until 2100-01-01 07:59:59 +08:00, purpose hearing");
    /* The view: signed by the custodian, in the name of the viewer. */
    snprintf(
        body, sizeof body,
        "action=view\nactor=%s\nfrom_ms=2000\ngrant=12\npurpose=hearing\nsession=%s\nto_ms=12000\n",
        pkhex[FANG], sess(1));
    SAYS(
        TLO_ENTRY_ACCESS_GRANTED, CUST, case_a, body,
        "王芳 (prosecutor) viewed 00:00:02\u201300:00:12 of session 2, purpose hearing (grant 12)");
    CHECK_MSG(strstr(text, "custodian") == NULL, "a view names the custodian: %s", text);
    {
        tlo_entry e = entry(TLO_ENTRY_ACCESS_GRANTED, CUST, case_a, body);
        CHECK(!strcmp(tlo_custody_describe_person(d, &e)->name, "王芳"));
    }
    snprintf(body, sizeof body,
             "action=export\nactor=%s\nfrom_ms=0\npurpose=x\nreason=beyond the granted range\n"
             "session=%s\nto_ms=4000\n",
             pkhex[FANG], sess(0));
    SAYS(TLO_ENTRY_ACCESS_DENIED, CUST, case_a, body,
         "王芳 (prosecutor) was refused an export of 00:00:00\u201300:00:04 of session 1, purpose "
         "x: "
         "beyond the granted range");
    snprintf(body, sizeof body,
             "access=14\nbytes=999\nclip_end_ms=8000\nclip_sha256=%064d\nclip_start_ms=4000\n"
             "exporter=%s\nfile=child-name.mp4\nfrom_ms=4000\nsession=%s\nto_ms=8000\n",
             0, pkhex[FANG], sess(1));
    SAYS(TLO_ENTRY_EXPORT, CUST, case_a, body,
         "王芳 (prosecutor) exported 00:00:04\u201300:00:08 of session 2 (999 bytes, SHA-256 0000");
    CHECK_MSG(strstr(text, "child-name") == NULL, "an export's words name its file: %s", text);
    SAYS(TLO_ENTRY_GRANT_REVOKE, ADMIN, case_a, "grant=12\nreason=done\n",
         "revoked grant 12: done");
    snprintf(body, sizeof body, "actor=%s\nfields=case_number\nresult=shown\n", pkhex[FANG]);
    SAYS(TLO_ENTRY_CASE_VIEW, CUST, case_a, body, "王芳 (prosecutor) was shown the case's number");
    snprintf(body, sizeof body, "actor=%s\nreason=not the opener\nresult=refused\n", pkhex[DOC]);
    SAYS(TLO_ENTRY_CASE_VIEW, CUST, case_a, body,
         "Dr <b>Med</b> (medical) was refused the case's sealed record: not the opener");
    SAYS(TLO_ENTRY_REQUEST_REFUSED, CUST, NULL,
         "client_pid=77\nclient_uid=1001\ncommand=play\nreason=stale nonce\n",
         "a request of OS user 1001 (process 77) for 'play' was refused: stale nonce");
    /* 44: action-refused */
    snprintf(body, sizeof body, "action=mark\nactor=%s\nreason=only an interviewer may\n",
             pkhex[DOC]);
    SAYS(TLO_ENTRY_ACTION_REFUSED, CUST, case_a, body,
         "Dr <b>Med</b> (medical) was refused 'mark': only an interviewer may");
    /* 50: notes, numbered by their first version */
    snprintf(body, sizeof body,
             "at_ms=5000\nbytes=5300000\nfiles=2\nnote=c0000000000000000000000000000001\n"
             "note_kind=exam\nobject=c0000000000000000000000000000001\nsession=%s\nversion=1\n",
             sess(1));
    SAYS(
        TLO_ENTRY_NOTE, DOC, case_a, body,
        "Dr <b>Med</b> (medical) added a physical examination note, note 1: 2 files, 5300000 bytes "
        "sealed, about 00:00:05 of session 2");
    SAYS(TLO_ENTRY_NOTE, DOC, case_a,
         "bytes=10\nfiles=0\nnote=c0000000000000000000000000000002\nnote_kind=photo\n"
         "object=c0000000000000000000000000000002\nversion=1\n",
         "added photographs, note 2");
    SAYS(TLO_ENTRY_NOTE, DOC, case_a,
         "bytes=11\nfiles=1\nnote=c0000000000000000000000000000001\nnote_kind=exam\n"
         "object=c0000000000000000000000000000003\nreplaces=c0000000000000000000000000000001\n"
         "version=2\n",
         "amended note 1 (version 2): 1 file");
    CHECK(tlo_custody_describe_note_no(d, "c0000000000000000000000000000001") == 1);
    CHECK(tlo_custody_describe_session_no(d, sess(2)) == 1);
    CHECK(tlo_custody_describe_session_no(d, sess(1)) == 2);
    /* 32: note-grant, 52: note-access */
    snprintf(body, sizeof body,
             "expires_ms=4102444799999\nnote=c0000000000000000000000000000001\npurpose=trial\n"
             "to=%s\nto_name=王芳\n",
             pkhex[FANG]);
    SAYS(TLO_ENTRY_NOTE_GRANT, ADMIN, case_a, body,
         "Anna Admin (admin) granted 王芳 (prosecutor) the reading of note 1 until 2100-01-01 "
         "07:59:59 +08:00");
    snprintf(body, sizeof body,
             "action=show\nactor=%s\nbasis=grant\ngrant=30\nnote=c0000000000000000000000000000001\n"
             "object=c0000000000000000000000000000003\npurpose=trial\nresult=granted\n",
             pkhex[FANG]);
    SAYS(TLO_ENTRY_NOTE_ACCESS, CUST, case_a, body,
         "王芳 (prosecutor) read note 1 by grant 30, purpose trial");
    snprintf(body, sizeof body,
             "action=get\nactor=%s\nnote=c0000000000000000000000000000002\n"
             "object=c0000000000000000000000000000002\nreason=no grant\nresult=refused\n",
             pkhex[FANG]);
    SAYS(TLO_ENTRY_NOTE_ACCESS, CUST, case_a, body,
         "王芳 (prosecutor) was refused reading the files of note 2: no grant");
    /* 53, 51, 54, 55: a sample's custody */
    SAYS(TLO_ENTRY_SAMPLE_REGISTER, DOC, case_a,
         "label=S-001\nnote=c0000000000000000000000000000001\nsample_kind=swab\nseal_number=SEAL/"
         "42\n",
         "Dr <b>Med</b> (medical) registered sample S-001 (swab, seal SEAL/42), collected as in "
         "note 1");
    snprintf(body, sizeof body, "label=S-001\nplace=lab door\nto=%s\nto_name=王芳\n", pkhex[FANG]);
    SAYS(TLO_ENTRY_SAMPLE_TRANSFER, DOC, case_a, body,
         "Dr <b>Med</b> (medical) handed sample S-001 to 王芳 (prosecutor) at lab door (in "
         "transfer");
    SAYS(TLO_ENTRY_SAMPLE_RECEIVE, FANG, case_a, "label=S-001\nseal_intact=no\ntransfer=40\n",
         "王芳 (prosecutor) received sample S-001 (transfer 40), SEAL BROKEN");
    SAYS(TLO_ENTRY_SAMPLE_RECEIVE, FANG, case_a, "label=S-001\nseal_intact=yes\ntransfer=40\n",
         "seal intact");
    SAYS(TLO_ENTRY_SAMPLE_DISPOSE, FANG, case_a, "label=S-001\nreason=analysed\n",
         "王芳 (prosecutor) disposed of sample S-001: analysed");
    SAYS(TLO_ENTRY_KEY_DESTROYED, ADMIN, case_a, "", "destroyed the case key");
    SAYS(TLO_ENTRY_CHECKPOINT, CUST, NULL, "root=abcdef0123456789abcdef\nsize=41\n",
         "the custodian signed a checkpoint of the first 41 entries");
    /* An unknown signer, and an unknown kind. */
    {
        tlo_entry e = entry(TLO_ENTRY_CASE_OPEN, ADMIN, case_a, "");
        memset(e.actor, 0xee, 32);
        tlo_custody_describe(d, &e, text, sizeof text);
        CHECK_MSG(!strncmp(text, "an unknown key opened", 21), "unknown key: %s", text);
        e.kind = 999;
        tlo_custody_describe(d, &e, text, sizeof text);
        CHECK_MSG(strstr(text, "kind 999") != NULL, "unknown kind: %s", text);
    }
    /* describe_cuts_at_character_boundary: 王 is 3 bytes; a small buffer never
     * ends inside one. */
    {
        char small[40];
        snprintf(body, sizeof body, "at_ms=0\nsession=%s\ntext=%s\n", sess(1),
                 "王王王王王王王王王王王王王王王王王王王王王王王王");
        tlo_entry e = entry(TLO_ENTRY_MARKER, FANG, case_a, body);
        for (size_t cap = 1; cap <= sizeof small; cap++) {
            tlo_custody_describe(d, &e, small, cap);
            CHECK_MSG(strlen(small) < cap && (!*small || tlo_text_ok(small, strlen(small))),
                      "cut at %zu is not text", cap);
        }
    }
    tlo_custody_describer_free(d);
    describe_in_chinese();
    return tu_finish("report_describe");
}
