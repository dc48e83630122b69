/* A whole workflow through custody.h alone, as a second front end (the
 * custodian service, a report generator) would drive it, without the
 * tellonce binary: create a vault, enrol an interviewer and a prosecutor,
 * open a case, record 8 s of the simulated room, grant a clip, release its
 * keys, export it with a signed manifest, verify the export (with the vault,
 * and with the custodian's key alone), verify the ledger and the media, and
 * read the sealed case record back. Every step's refusal path that matters
 * is tried too: an export beyond the grant, a doctored clip. */
#include "custody.h"
#include "testutil.h"

#include <fcntl.h>
#include <gst/gst.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static tlo_vault_identity *unlock(tlo_custody *v, const char *name, const char *pass,
                                  unsigned roles)
{
    tlo_vault_identity *id = NULL;
    tlo_error err = {0};
    CHECK_MSG(tlo_custody_unlock(v, name, pass, strlen(pass), roles, "test role", &id, &err) == 0,
              "unlock %s: %s", name, err.msg);
    return id;
}

static void enrol(tlo_custody *v, const tlo_vault_identity *admin, const char *name,
                  const char *pass, unsigned roles)
{
    tlo_custody_user_params up = {.name = name,
                                  .roles = roles,
                                  .passphrase = pass,
                                  .passphrase_len = strlen(pass),
                                  .kdf = TLO_KDF_INTERACTIVE};
    tlo_custody_enrolment en;
    tlo_error err = {0};
    CHECK_MSG(tlo_custody_user_add(v, admin, &up, &en, &err) == 0, "user add %s: %s", name,
              err.msg);
}

/* Records 8 s of the simulated room, as fast as the machine can. */
static int record(tlo_custody *v, const tlo_vault_identity *officer, const tlo_custody_case *cs,
                  char session[33])
{
    tlo_hw_room room;
    const char *encoder = NULL;
    tlo_error err = {0};
    tlo_custody_recording *rec = NULL;
    tlo_custody_record_summary sum;
    gst_init(NULL, NULL);
    CHECK(tlo_hw_room_resolve("simulated", &room, &err) == 0);
    CHECK_MSG(tlo_hw_encoder_resolve(room.encoder, &encoder, &err) == 0, "%s", err.msg);
    tlo_custody_record_params rp = {
        .cs = cs, .room = &room, .encoder = encoder, .duration_seconds = 8, .live = false};
    int rc = tlo_custody_record_start(v, officer, &rp, &rec, &err);
    CHECK_MSG(rc == 0, "record start: %s", err.msg);
    if (rc == 0)
        CHECK_MSG((rc = tlo_custody_record_run(rec, &err)) == 0, "record: %s", err.msg);
    if (rec) {
        snprintf(session, 33, "%s", tlo_custody_record_session(rec));
        CHECK_MSG(tlo_custody_record_finish(rec, rc != 0, &sum, &err) == 0, "finish: %s", err.msg);
        CHECK_MSG(sum.segments == 2 && sum.end_seq > 0, "%llu segments",
                  (unsigned long long)sum.segments);
    }
    tlo_custody_record_free(rec);
    return rc;
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    CHECK(fd >= 0 && pread(fd, &b, 1, at) == 1);
    b ^= 0x01;
    CHECK(pwrite(fd, &b, 1, at) == 1);
    close(fd);
}

int main(void)
{
    tlo_error err = {0};
    CHECK(tlo_vault_init(&err) == 0);
    char dir[] = "/tmp/tlo-workflow.XXXXXX", vault[256], clip[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(vault, sizeof vault, "%s/vault", dir);
    snprintf(clip, sizeof clip, "%s/clip.mp4", dir);

    /* The vault and its people. */
    tlo_custody_init_params ip = {.admin_name = "管理员 Admin",
                                  .passphrase = "admin passphrase",
                                  .passphrase_len = 16,
                                  .kdf = TLO_KDF_INTERACTIVE};
    tlo_custody_init_result ir;
    CHECK_MSG(tlo_custody_init(vault, &ip, &ir, &err) == 0, "init: %s", err.msg);
    tlo_custody *v = NULL;
    CHECK_MSG(tlo_custody_open(vault, false, &v, &err) == 0, "open: %s", err.msg);
    if (!v)
        return tu_finish("workflow");
    tlo_vault_identity *admin = unlock(v, "管理员 Admin", "admin passphrase", TLO_ROLE_ADMIN);
    if (!admin)
        return tu_finish("workflow");
    enrol(v, admin, "Officer", "officer passphrase", TLO_ROLE_INTERVIEWER);
    enrol(v, admin, "Pros", "prosecutor passphrase", TLO_ROLE_PROSECUTOR);
    tlo_vault_identity *officer = unlock(v, "Officer", "officer passphrase", TLO_ROLE_INTERVIEWER);
    tlo_vault_identity *pros = unlock(v, "Pros", "prosecutor passphrase", TLO_ROLE_PROSECUTOR);
    if (!officer || !pros)
        return tu_finish("workflow");

    /* The case and its recording. */
    tlo_custody_case_params cp = {.number = "SZ-2026-0042",
                                  .title = "workflow",
                                  .child_name = "小明",
                                  .child_birthdate = "2016-05-01"};
    tlo_custody_case cs;
    CHECK_MSG(tlo_custody_case_open(v, officer, &cp, &cs, &err) == 0, "case open: %s", err.msg);
    char session[33] = "";
    if (record(v, officer, &cs, session) != 0)
        return tu_finish("workflow");

    /* A grant of 00:00:02-00:00:06 to the prosecutor, view and export. */
    tlo_custody_grant_params gp = {.case_number = cp.number,
                                   .to = "Pros",
                                   .session = session,
                                   .from_ms = 2000,
                                   .until_ms = 6000,
                                   .expires_ms = tlo_custody_now_ms() + 86400000,
                                   .view = true,
                                   .exp = true,
                                   .purpose = "审查起诉 prosecution review"};
    tlo_custody_grant g;
    CHECK_MSG(tlo_custody_grant_issue(v, admin, &gp, &g, &err) == 0, "grant: %s", err.msg);

    /* Release: both 4 s segments overlap 2-6 s. */
    tlo_custody_request req;
    tlo_custody_released rel;
    CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 2000, 6000, NULL, &req,
                                   &err) == 0);
    CHECK_MSG(tlo_custody_release(v, &req, &rel, &err) == 0, "release: %s", err.msg);
    CHECK_MSG(rel.n == 2 && rel.grant_seq == g.seq, "%zu segments released", rel.n);
    for (size_t i = 0; i < rel.n; i++) {
        char *path = tlo_custody_object_path(v, rel.seg[i].object);
        int fd = open(path, O_RDONLY);
        struct stat st;
        CHECK(fd >= 0 && fstat(fd, &st) == 0);
        tlo_vault_reader *r = tlo_vault_reader_open_object_key(
            tlo_vault_fd_source, &fd, (uint64_t)st.st_size, rel.seg[i].key, path, &err);
        CHECK_MSG(r != NULL, "released key %zu does not open its segment: %s", i, err.msg);
        tlo_vault_reader_free(r);
        close(fd);
        free(path);
    }
    tlo_custody_released_free(&rel);

    /* An export beyond the grant is refused; within it, it is made. */
    tlo_custody_export_params ep = {.case_number = cp.number,
                                    .session = session,
                                    .from_ms = 1000,
                                    .to_ms = 6000,
                                    .out_path = clip};
    tlo_custody_export_result xr;
    CHECK(tlo_custody_export(v, pros, &ep, &xr, &err) == TLO_EDENIED);
    CHECK(access(clip, F_OK) != 0);
    tlo_custody_export_result_free(&xr);
    ep.from_ms = 2000;
    CHECK_MSG(tlo_custody_export(v, pros, &ep, &xr, &err) == 0, "export: %s", err.msg);
    CHECK(xr.segments == 2 && xr.export_seq > xr.access_seq && xr.manifest_path);
    tlo_custody_export_result_free(&xr);

    /* Verified with the vault, and with the custodian's key alone. */
    tlo_custody_verify_export_params vp = {.clip = clip};
    tlo_custody_export_report xrep;
    CHECK_MSG(tlo_custody_verify_export(v, &vp, &xrep, &err) == 0, "verify-export: %s", err.msg);
    CHECK(xrep.ledger_checked && xrep.m.nseg == 2 && !strcmp(xrep.m.by, "Pros"));
    tlo_custody_export_report_free(&xrep);
    char origin[TLO_NOTE_NAME_MAX + 1];
    tlo_note_verifier key;
    CHECK(tlo_custody_trust(v, origin, sizeof origin, &key, &err) == 0);
    vp.verifier = &key;
    CHECK_MSG(tlo_custody_verify_export(NULL, &vp, &xrep, &err) == 0, "keyless: %s", err.msg);
    tlo_custody_export_report_free(&xrep);
    /* One byte of the clip changed: found. */
    flip_byte(clip, 5000);
    CHECK(tlo_custody_verify_export(NULL, &vp, &xrep, &err) != 0);
    tlo_custody_export_report_free(&xrep);

    /* The ledger and the media verify; the case record reads back. */
    tlo_custody_verify_report vr;
    CHECK_MSG(tlo_custody_verify(v, NULL, cs.id, &vr, &err) == 0, "verify: %s", err.msg);
    CHECK_MSG(vr.chain.ok, "verify: %s", vr.chain.problem);
    CHECK(vr.segments == 2 && vr.case_entries > 5);
    tlo_custody_verify_report_free(&vr);
    tlo_custody_case_view cv;
    CHECK_MSG(tlo_custody_case_show(v, admin, cp.number, &cv, &err) == 0, "case show: %s", err.msg);
    CHECK(!strcmp(cv.record.child_name, "小明") && cv.view_seq > 0);
    tlo_custody_case_record_wipe(&cv.record);

    /* numbers_shown_only_to_roles_and_logged: the ledger lists cases by
     * internal id; the custodian shows numbers to an administrator,
     * interviewer or prosecutor, and refuses medical staff, logging both. */
    enrol(v, admin, "Medic", "medic passphrase", TLO_ROLE_MEDICAL);
    tlo_vault_identity *medic = unlock(v, "Medic", "medic passphrase", TLO_ROLE_MEDICAL);
    tlo_custody_case_facts *list = NULL;
    size_t ncases = 0;
    uint64_t first = 0, size0 = 0, size1 = 0;
    char id_hex[33];
    tlo_hex(id_hex, cs.id, TLO_ID_BYTES);
    CHECK(tlo_custody_cases(v, &list, &ncases, &err) == 0 && ncases == 1);
    CHECK(ncases == 1 && !strcmp(list[0].c.number, id_hex) && !list[0].number_shown);
    CHECK(tlo_chain_size(tlo_custody_chain(v), &size0, &err) == 0);
    CHECK(medic && tlo_custody_case_numbers(v, medic, list, ncases, &first, &err) == TLO_EDENIED);
    CHECK(ncases == 1 && !list[0].number_shown && !strcmp(list[0].c.number, id_hex));
    CHECK(tlo_chain_size(tlo_custody_chain(v), &size1, &err) == 0 && size1 == size0 + 1 &&
          first == size0);
    CHECK_MSG(tlo_custody_case_numbers(v, pros, list, ncases, &first, &err) == 0, "numbers: %s",
              err.msg);
    CHECK(ncases == 1 && list[0].number_shown && !strcmp(list[0].c.number, cp.number));
    tlo_entry e;
    uint8_t *buf = NULL;
    size_t flen = 0;
    CHECK(tlo_chain_get(tlo_custody_chain(v), first, &e, &buf, &err) == 0 &&
          e.kind == TLO_ENTRY_CASE_VIEW && e.has_case && !memcmp(e.case_id, cs.id, TLO_ID_BYTES) &&
          tlo_entry_body_get(e.body, e.body_len, "fields", &flen) != NULL);
    free(buf);
    free(list);
    tlo_vault_identity_free(medic);
    /* The internal id finds the case without its number. */
    tlo_custody_case by_id;
    CHECK(tlo_custody_case_find(v, id_hex, &by_id, &err) == 0 &&
          !memcmp(by_id.id, cs.id, TLO_ID_BYTES));

    tlo_vault_identity_free(pros);
    tlo_vault_identity_free(officer);
    tlo_vault_identity_free(admin);
    tlo_custody_close(v);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return tu_finish("workflow");
}
