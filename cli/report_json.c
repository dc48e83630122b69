/* The auditor's report as JSON: the same facts as the HTML page, one object
 * (docs/report.md lists every field). Persons are indices into "people". */
#include "cli.h"
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void str(FILE *f, const char *key, const char *val, bool comma)
{
    fprintf(f, "%s\"%s\":", comma ? "," : "", key);
    cli_json_string(f, val);
}

static void u64(FILE *f, const char *key, uint64_t val)
{
    fprintf(f, ",\"%s\":%" PRIu64, key, val);
}

/* A person: "KEY" the name (as "person" is everywhere in docs/json.md) and
 * "KEY_index" the index into "people", where the roles and key id are; both
 * null when nobody (or an entry of the custodian alone). */
static void who(FILE *f, const tlo_custody_report *r, const char *key, int person)
{
    if (person < 0 || (size_t)person >= r->npeople) {
        fprintf(f, ",\"%s\":null,\"%s_index\":null", key, key);
        return;
    }
    str(f, key, r->person[person].name, true);
    fprintf(f, ",\"%s_index\":%d", key, person);
}

/* "actions":["view","export"] from "view,export". */
static void actions(FILE *f, const char *text)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    fputs(",\"actions\":[", f);
    bool first = true;
    for (char *p = buf, *save = NULL, *a; (a = strtok_r(p, ",", &save)); p = NULL) {
        fputs(first ? "" : ",", f);
        cli_json_string(f, a);
        first = false;
    }
    fputc(']', f);
}

static void session(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s)
{
    fprintf(f, "{\"session_number\":%u", s->no);
    str(f, "session", s->id, true);
    who(f, r, "recorder", s->recorder);
    u64(f, "started_ms", s->started_at);
    u64(f, "closed_ms", s->closed_at);
    str(f, "room", s->room, true);
    u64(f, "cameras", s->cameras);
    u64(f, "microphones", s->microphones);
    str(f, "status", s->status, true);
    u64(f, "length_ms", s->length_ms);
    u64(f, "segments", s->segments);
    u64(f, "bytes", s->bytes);
    fputs(",\"markers\":[", f);
    for (size_t i = 0; i < s->nmarkers; i++) {
        fprintf(f, "%s{\"entry\":%" PRIu64 ",\"at_ms\":%" PRIu64, i ? "," : "", s->marker[i].seq,
                s->marker[i].at_ms);
        who(f, r, "by", s->marker[i].person);
        str(f, "text", s->marker[i].text, true);
        fputc('}', f);
    }
    fputs("],\"device_events\":[", f);
    for (size_t i = 0; i < s->ndevices; i++) {
        const tlo_custody_report_device *d = &s->device[i];
        fprintf(f, "%s{\"entry\":%" PRIu64 ",\"at_ms\":%" PRIu64, i ? "," : "", d->seq, d->at_ms);
        str(f, "device", d->device, true);
        str(f, "event", d->event, true);
        str(f, "message", d->message, true);
        str(f, "then", d->then, true);
        fputc('}', f);
    }
    fputs("],\"gaps\":[", f);
    for (size_t i = 0; i < s->ngaps; i++)
        fprintf(f, "%s{\"from_ms\":%" PRIu64 ",\"to_ms\":%" PRIu64 ",\"after_index\":%" PRIu64 "}",
                i ? "," : "", s->gap[i].from_ms, s->gap[i].to_ms, s->gap[i].after_index);
    fputs("],\"access\":[", f);
    for (size_t i = 0; i < s->naccess; i++) {
        const tlo_custody_report_access *a = &s->access[i];
        fprintf(f, "%s{\"entry\":%" PRIu64 ",\"time_ms\":%" PRIu64, i ? "," : "", a->seq,
                a->time_ms);
        who(f, r, "person", a->person);
        str(f, "action", a->exp ? "export" : "view", true);
        u64(f, "from_ms", a->from_ms);
        u64(f, "to_ms", a->to_ms);
        str(f, "purpose", a->purpose, true);
        str(f, "grant", a->grant, true);
        fputc('}', f);
    }
    fputs("]}", f);
}

static void lines(FILE *f, const tlo_custody_report *r, const char *key,
                  const tlo_custody_report_line *l, size_t n)
{
    fprintf(f, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        const char *kind = tlo_entry_kind_name(l[i].kind);
        fprintf(f, "%s{\"entry\":%" PRIu64 ",\"time_ms\":%" PRIu64, i ? "," : "", l[i].seq,
                l[i].time_ms);
        str(f, "kind", kind ? kind : "unknown", true);
        who(f, r, "person", l[i].person);
        str(f, "text", l[i].text, true);
        fputc('}', f);
    }
    fputc(']', f);
}

/* "verification": what the report rests on (docs/report.md). */
static void verification(FILE *f, const tlo_custody_report *r)
{
    fprintf(f, ",\"verification\":{\"ok\":%s", r->verified ? "true" : "false");
    str(f, "problem", r->problem, true);
    u64(f, "entries", r->entries);
    u64(f, "checkpoint_size", r->checkpoint_size);
    u64(f, "uncovered", r->entries > r->checkpoint_size ? r->entries - r->checkpoint_size : 0);
    str(f, "checkpoint_root", r->checkpoint_root, true);
    str(f, "checkpoint_root_base64", r->checkpoint_b64, true);
    str(f, "verifier_key", r->verifier_key, true);
    str(f, "command", r->verify_command, true);
}

/* Each of these closes the list before it, then writes its own:
 * "grants", every grant of the case. */
static void grants(FILE *f, const tlo_custody_report *r)
{
    fputs("],\"grants\":[", f);
    for (size_t i = 0; i < r->ngrants; i++) {
        const tlo_custody_report_grant *g = &r->grant[i];
        fprintf(f, "%s{\"entry\":%" PRIu64 ",\"time_ms\":%" PRIu64, i ? "," : "", g->seq,
                g->time_ms);
        str(f, "of", g->note ? "note" : "clip", true);
        who(f, r, "by", g->by);
        who(f, r, "to", g->to);
        str(f, "to_name", g->to_name, true);
        if (g->note) {
            fprintf(f, ",\"note_number\":%u", g->note_no);
        } else {
            fprintf(f, ",\"session_number\":%u", g->session_no);
            u64(f, "from_ms", g->from_ms);
            u64(f, "to_ms", g->until_ms);
        }
        actions(f, g->actions);
        u64(f, "expires_ms", g->expires_ms);
        str(f, "purpose", g->purpose, true);
        str(f, "status", g->status, true);
        if (g->revoked_seq)
            u64(f, "revoked_entry", g->revoked_seq);
        fputc('}', f);
    }
}

/* "exports", with their SHA-256. */
static void exports(FILE *f, const tlo_custody_report *r)
{
    fputs("],\"exports\":[", f);
    for (size_t i = 0; i < r->nexports; i++) {
        const tlo_custody_report_export *x = &r->exp[i];
        fprintf(f, "%s{\"entry\":%" PRIu64 ",\"time_ms\":%" PRIu64, i ? "," : "", x->seq,
                x->time_ms);
        u64(f, "access_entry", x->access_seq);
        who(f, r, "person", x->person);
        fprintf(f, ",\"session_number\":%u", x->session_no);
        u64(f, "from_ms", x->from_ms);
        u64(f, "to_ms", x->to_ms);
        u64(f, "clip_start_ms", x->clip_start_ms);
        u64(f, "clip_end_ms", x->clip_end_ms);
        u64(f, "bytes", x->bytes);
        str(f, "sha256", x->sha256, true);
        fputc('}', f);
    }
}

/* "notes": metadata only, every version. */
static void notes(FILE *f, const tlo_custody_report *r)
{
    fputs("],\"notes\":[", f);
    for (size_t i = 0; i < r->nnotes; i++) {
        const tlo_custody_report_note *n = &r->note[i];
        fprintf(f, "%s{\"note_number\":%u", i ? "," : "", n->no);
        str(f, "note", n->id, true);
        str(f, "kind", n->kind, true);
        who(f, r, "author", n->author);
        u64(f, "reads", n->reads);
        u64(f, "refused", n->refused);
        fputs(",\"versions\":[", f);
        for (size_t k = 0; k < n->nversions; k++) {
            const tlo_custody_report_note_version *v = &n->version[k];
            fprintf(f, "%s{\"entry\":%" PRIu64 ",\"time_ms\":%" PRIu64, k ? "," : "", v->seq,
                    v->time_ms);
            u64(f, "version", v->version);
            who(f, r, "by", v->author);
            u64(f, "bytes", v->bytes);
            u64(f, "files", v->files);
            u64(f, "text_bytes", v->text_bytes);
            if (v->session_no) {
                fprintf(f, ",\"session_number\":%u", v->session_no);
                u64(f, "at_ms", v->at_ms);
            }
            fputc('}', f);
        }
        fputs("]}", f);
    }
}

/* "samples", each with its custody chain. */
static void samples(FILE *f, const tlo_custody_report *r)
{
    fputs("],\"samples\":[", f);
    for (size_t i = 0; i < r->nsamples; i++) {
        const tlo_custody_report_sample *s = &r->sample[i];
        fputs(i ? ",{" : "{", f);
        str(f, "label", s->label, false);
        str(f, "kind", s->kind, true);
        str(f, "seal_number", s->seal_number, true);
        who(f, r, "registrar", s->registrar);
        who(f, r, "holder", s->holder);
        str(f, "state", s->state, true);
        if (!strcmp(s->state, "in transfer"))
            str(f, "to_name", s->to_name, true);
        fprintf(f, ",\"broken_seal\":%s,\"chain\":[", s->broken_seal ? "true" : "false");
        for (size_t k = 0; k < s->nevents; k++) {
            const char *kind = tlo_entry_kind_name(s->event[k].kind);
            fprintf(f, "%s{\"entry\":%" PRIu64 ",\"time_ms\":%" PRIu64, k ? "," : "",
                    s->event[k].seq, s->event[k].time_ms);
            str(f, "kind", kind ? kind : "unknown", true);
            who(f, r, "person", s->event[k].person);
            str(f, "text", s->event[k].text, true);
            fputc('}', f);
        }
        fputs("]}", f);
    }
}

int tlo_report_write_json(const tlo_custody_report *r, FILE *f)
{
    fputs("{\"format\":\"tellonce.report/v1\"", f);
    str(f, "case_id", r->case_id, true);
    if (r->number_shown)
        str(f, "case_number", r->case_number, true);
    else
        fputs(",\"case_number\":null", f);
    u64(f, "opened_ms", r->opened_at);
    who(f, r, "opener", r->opener);
    u64(f, "generated_ms", r->generated_at);
    verification(f, r);
    fputs("},\"people\":[", f);
    for (size_t i = 0; i < r->npeople; i++) {
        fputs(i ? ",{" : "{", f);
        str(f, "person", r->person[i].name, false);
        fputs(",\"roles\":", f);
        cli_json_roles(f, r->person[i].roles);
        str(f, "key_id", r->person[i].key_id, true);
        fputc('}', f);
    }
    fputs("],\"sessions\":[", f);
    for (size_t i = 0; i < r->nsessions; i++) {
        if (i)
            fputc(',', f);
        session(f, r, &r->session[i]);
    }
    grants(f, r);
    exports(f, r);
    notes(f, r);
    samples(f, r);
    fputc(']', f);
    lines(f, r, "refusals", r->refusal, r->nrefusals);
    lines(f, r, "timeline", r->line, r->nlines);
    fputs("}\n", f);
    return ferror(f) ? -1 : 0;
}
