/* tellonce export and verify-export: options in, one custody verb, results
 * out. The export itself (the custodian's release, the remux, the export
 * entry, the checkpoint, the signed manifest) is tlo_custody_export; the
 * check of a clip and its manifest is tlo_custody_verify_export
 * (custody/export.c, custody/export_verify.c; the manifest's lines are
 * listed in custody/manifest.c and docs/export.md). */
#include "cli.h"
#include "layout.h"
#include "service.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "HH:MM:SS.mmm" on the session clock. */
static void ms_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
             (unsigned long long)(ms % 1000));
}

/* ---- tellonce export -------------------------------------------------------- */

static void export_usage(FILE *f)
{
    fputs(_("usage: tellonce export CASE --session S [--from HH:MM:SS] [--to HH:MM:SS]\n"
            "                       -o CLIP.mp4 --as NAME [--purpose TEXT] [--watermark]\n"
            "                       [--layout pip|side-by-side|camN] [--json]\n"
            "                       [--passphrase-file FILE] [--vault DIR]\n"
            "\n"
            "Exports the range --from to --to (session clock; default: all that NAME is\n"
            "granted to export) of session S (its number in 'tellonce session list', or 4+\n"
            "hex digits of its id) of CASE as a standard MP4, stream copy, every camera\n"
            "and microphone, from the keyframe at or before --from. NAME needs a grant\n"
            "that allows export of that range (tellonce grant ... --actions export); the\n"
            "custodian logs the access before any key is released, and a refusal too.\n"
            "Beside CLIP.mp4 it writes CLIP.mp4.manifest, signed by the custodian: the\n"
            "source segments and their\n"
            "digests, the access and export entries with their inclusion proofs in a\n"
            "checkpoint, and the clip's SHA-256. Check both with 'tellonce verify-export'.\n"
            "The clip is plaintext (mode 0600): keep it as evidence is kept. Neither file\n"
            "may exist already.\n"
            "--watermark decodes the range and encodes it again (H.264, AAC) with\n"
            "\"EXPORTED FOR NAME - CASE NUMBER - local date and time\" burned into every\n"
            "picture, from --from itself; the manifest and the export entry say so.\n"
            "--layout pip re-encodes cameras 1 and 2 into one picture (camera 2 as an\n"
            "inset in the bottom-right corner of camera 1) with the session clock and the\n"
            "local date and time of the recording burned in, and the watermark; the\n"
            "manifest and the export entry say layout pip. --layout side-by-side\n"
            "re-encodes every camera, left to right, into one picture the same way;\n"
            "--layout camN (cam1, cam2, ...) keeps camera N alone with the microphones, a\n"
            "stream copy unless --watermark. The manifest and the export entry say the\n"
            "layout. Without --layout every camera stays its own track, as recorded.\n"
            "-o /dev/fd/N --manifest-output /dev/fd/M --name CLIP.mp4 (what the client of\n"
            "the custodian service sends): write the clip and the manifest into the open\n"
            "unnamed files N and M (O_TMPFILE, made by the caller in CLIP.mp4's folder),\n"
            "named CLIP.mp4 in the manifest and the ledger; nothing is linked or looked up\n"
            "in a folder: the caller links both into place after exit status 0.\n"
            "--json prints what was exported as one JSON object (docs/json.md).\n"),
          f);
}

typedef struct export_opts {
    const char *as, *vault, *pass_file, *from, *to, *manifest_out, *name;
    bool json;
} export_opts;

/* "/dev/fd/N" (N decimal, no leading zero) into *fd; 0 or -1. */
static int dev_fd(const char *s, int *fd)
{
    uint64_t n;
    if (strncmp(s, "/dev/fd/", 8) != 0)
        return -1;
    const char *d = s + 8;
    if ((d[0] == '0' && d[1]) || strlen(d) > 9 || strspn(d, "0123456789") != strlen(d) ||
        tlo_parse_u64(d, &n) != 0)
        return -1;
    *fd = (int)n;
    return 0;
}

/* --layout: pip and side-by-side compose the cameras into one picture, a
 * re-encode with the watermark; camN keeps camera N alone (a stream copy
 * unless --watermark). 0, or -1 with the error printed. */
static int export_layout(const char *text, tlo_custody_export_params *p)
{
    tlo_layout l;
    if (tlo_layout_parse(text, &l) != 0) {
        cli_error("export --layout takes side-by-side or pip (the cameras in one picture, "
                  "re-encoded) or a camera as the room profile numbers it (cam1, cam2: that "
                  "camera alone); without it the clip keeps every camera as its own track");
        return -1;
    }
    p->pip = l.kind == TLO_LAYOUT_PIP;
    p->side_by_side = l.kind == TLO_LAYOUT_SIDE_BY_SIDE;
    p->camera = l.kind == TLO_LAYOUT_CAMERA ? l.camera : 0;
    if (p->pip || p->side_by_side)
        p->watermark = true;
    return 0;
}

/* The options into o and p. -1 to go on, or an exit code. */
static int export_args(int argc, char **argv, export_opts *o, tlo_custody_export_params *p)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"session", required_argument, NULL, 's'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"purpose", required_argument, NULL, 'p'},
                                         {"watermark", no_argument, NULL, 'W'},
                                         {"layout", required_argument, NULL, 'Y'},
                                         {"manifest-output", required_argument, NULL, 'M'},
                                         {"name", required_argument, NULL, 'N'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            o->as = optarg;
            break;
        case 'V':
            o->vault = optarg;
            break;
        case 'P':
            o->pass_file = optarg;
            break;
        case 's':
            p->session = optarg;
            break;
        case 'f':
            o->from = optarg;
            break;
        case 't':
            o->to = optarg;
            break;
        case 'o':
            p->out_path = optarg;
            break;
        case 'p':
            p->purpose = optarg;
            break;
        case 'W':
            p->watermark = true;
            break;
        case 'Y':
            if (export_layout(optarg, p) != 0)
                return EXIT_USAGE;
            break;
        case 'M':
            o->manifest_out = optarg;
            break;
        case 'N':
            o->name = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            export_usage(stdout);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    return -1;
}

/* The command line's own checks, before the vault is opened. -1 or an exit code. */
static int export_check(int argc, char **argv, const export_opts *o, tlo_custody_export_params *p)
{
    if (argc - optind != 1 || !p->session || !p->out_path || !o->as) {
        cli_error("export takes CASE, --session, -o and --as; see 'tellonce export --help'");
        return EXIT_USAGE;
    }
    p->case_number = argv[optind];
    /* Into files the caller opened: all three options, or none. */
    bool fd_out = !strncmp(p->out_path, "/dev/fd/", 8);
    if (tlo_service_in_child()) {
        /* The service's child writes only into the files its client passed
         * (the clip's for -o, the one named "manifest"), never a path: it
         * runs as the vault's owner. */
        p->out_fd = tlo_service_file_fd(p->out_path);
        p->manifest_fd = tlo_service_named_fd("manifest");
        if (p->out_fd < 0 || p->manifest_fd < 0 || !o->name || o->manifest_out) {
            cli_error("through the custodian service, export writes only into the files the "
                      "client passes for -o and its manifest (tellonce does that); run "
                      "'tellonce export ... -o CLIP.mp4' as it is");
            return EXIT_USAGE;
        }
        p->to_fds = true;
        p->out_path = o->name;
    } else if (fd_out || o->manifest_out || o->name) {
        if (!fd_out || !o->manifest_out || !o->name || dev_fd(p->out_path, &p->out_fd) != 0 ||
            dev_fd(o->manifest_out, &p->manifest_fd) != 0) {
            cli_error("-o /dev/fd/N, --manifest-output /dev/fd/M and --name CLIP go together "
                      "(the clip and its manifest into open files, to be named CLIP); see "
                      "'tellonce export --help'");
            return EXIT_USAGE;
        }
        p->to_fds = true;
        p->out_path = o->name;
    }
    p->from_ms = 0;
    p->to_ms = UINT64_MAX;
    if ((o->from && cli_parse_session_time(o->from, &p->from_ms) != 0) ||
        (o->to && cli_parse_session_time(o->to, &p->to_ms) != 0)) {
        cli_error("--from and --to take session times as HH:MM:SS, MM:SS or SS (.mmm optional)");
        return EXIT_USAGE;
    }
    if (cli_range_order(o->from != NULL, o->to != NULL, p->from_ms, p->to_ms) != 0)
        return EXIT_USAGE;
    return -1; /* the range against the grants, and tlo_custody_export_check: in cmd_export */
}

static void print_export(const tlo_custody_export_params *p, const tlo_custody_export_result *r,
                         const char *case_number, const char *actor)
{
    const tlo_player_export_result *res = &r->clip;
    char a[40], b[40], ca[40], cb[40], sha[65];
    unsigned video = 0, audio = 0;
    for (unsigned k = 0; k < res->tracks; k++) {
        if (res->track[k].kind == TLO_PLAYER_TRACK_VIDEO)
            video++;
        else
            audio++;
    }
    ms_text(a, sizeof a, r->from_ms);
    ms_text(b, sizeof b, r->to_ms);
    ms_text(ca, sizeof ca, res->clip_start_ms);
    ms_text(cb, sizeof cb, res->clip_end_ms);
    tlo_hex(sha, res->sha256, 32);
    double secs = r->mux_seconds;
    if (p->watermark)
        printf(_("Exported %s to %s of session %s of case %s for %s: %u camera and %u microphone "
                 "track(s) from %zu segment(s), re-encoded with the watermark in %.3f s (%.1fx "
                 "real time).\n"
                 "  clip      %s (%llu bytes, %s to %s of the session)\n"),
               a, b, p->session, case_number, actor, video, audio, r->segments, secs,
               secs > 0 ? (double)(res->clip_end_ms - res->clip_start_ms) / 1000.0 / secs : 0.0,
               p->out_path, (unsigned long long)res->bytes, ca, cb);
    else
        printf(_("Exported %s to %s of session %s of case %s for %s: %u camera and %u microphone "
                 "track(s) from %zu segment(s), stream copy in %.3f s.\n"
                 "  clip      %s (%llu bytes, %s to %s of the session: it starts at the keyframe "
                 "at or before %s)\n"),
               a, b, p->session, case_number, actor, video, audio, r->segments, secs, p->out_path,
               (unsigned long long)res->bytes, ca, cb, a);
    if (p->watermark)
        printf(_("  watermark %s\n"), r->watermark);
    if (p->pip)
        printf(_("  layout    pip: cameras 1 and 2 in one picture, with the session clock\n"));
    else if (p->side_by_side)
        printf(_("  layout    side-by-side: every camera, left to right, in one picture\n"));
    else if (p->camera)
        printf(_("  layout    cam%u: camera %u alone, with the microphones\n"), p->camera,
               p->camera);
    printf(_("  sha256    %s\n"), sha);
    if (r->sha256_path)
        printf(_("  checksum  %s, for 'sha256sum -c' in the clip's folder\n"), r->sha256_path);
    printf(_("  manifest  %s, signed by the custodian\n"
             "  logged    access entry %llu, export entry %llu, checkpoint of %llu entries\n"
             "The clip is plaintext: keep it as evidence is kept. Check it with 'tellonce "
             "verify-export %s --verifier-key KEY'.\n"),
           r->manifest_path, (unsigned long long)r->access_seq, (unsigned long long)r->export_seq,
           (unsigned long long)r->checkpoint_size, p->out_path);
    for (unsigned k = 0, nv = 0, na = 0; k < res->tracks; k++) {
        bool is_video = res->track[k].kind == TLO_PLAYER_TRACK_VIDEO;
        unsigned number = is_video ? ++nv : ++na;
        if (res->track[k].packets == 0 && is_video)
            printf(_("Note: camera %u has nothing in this range (no keyframe to start on), so its "
                     "track in the clip is empty.\n"),
                   number);
        else if (res->track[k].packets == 0)
            printf(_("Note: microphone %u has nothing in this range (no audio), so its track in "
                     "the clip is empty.\n"),
                   number);
    }
}

/* export --json (docs/json.md). */
static void print_export_json(const tlo_custody_export_params *p,
                              const tlo_custody_export_result *r, const tlo_custody_case *cs,
                              const char *person)
{
    const tlo_player_export_result *res = &r->clip;
    char sha[65], id[33];
    tlo_hex(sha, res->sha256, 32);
    tlo_hex(id, cs->id, TLO_ID_BYTES);
    printf("{\"case_id\":\"%s\",\"case_number\":", id);
    cli_json_string(stdout, cs->number);
    printf(",\"session\":\"%s\",\"person\":", p->session);
    cli_json_string(stdout, person);
    printf(",\"from_ms\":%llu,\"to_ms\":%llu,\"clip_start_ms\":%llu,\"clip_end_ms\":%llu,"
           "\"clip\":",
           (unsigned long long)r->from_ms, (unsigned long long)r->to_ms,
           (unsigned long long)res->clip_start_ms, (unsigned long long)res->clip_end_ms);
    cli_json_string(stdout, p->out_path);
    printf(",\"bytes\":%llu,\"sha256\":\"%s\",\"sha256_file\":", (unsigned long long)res->bytes,
           sha);
    if (r->sha256_path)
        cli_json_string(stdout, r->sha256_path);
    else
        printf("null");
    printf(",\"manifest\":");
    cli_json_string(stdout, r->manifest_path);
    printf(",\"reencoded\":%s,\"watermark\":", p->watermark ? "true" : "false");
    if (p->watermark)
        cli_json_string(stdout, r->watermark);
    else
        printf("null");
    printf(",\"layout\":%s,\"seconds\":%.3f,\"segments\":%zu,\"tracks\":[",
           p->pip ? "\"pip\"" : "null", r->mux_seconds, r->segments);
    for (unsigned k = 0, nv = 0, na = 0; k < res->tracks; k++) {
        bool is_video = res->track[k].kind == TLO_PLAYER_TRACK_VIDEO;
        printf("%s{\"kind\":\"%s\",\"number\":%u,\"packets\":%llu}", k ? "," : "",
               is_video ? "video" : "audio", is_video ? ++nv : ++na,
               (unsigned long long)res->track[k].packets);
    }
    printf("],\"access_entry\":%llu,\"export_entry\":%llu,\"checkpoint_size\":%llu}\n",
           (unsigned long long)r->access_seq, (unsigned long long)r->export_seq,
           (unsigned long long)r->checkpoint_size);
}

int cmd_export(int argc, char **argv)
{
    export_opts o = {0};
    tlo_custody_export_params p = {0};
    tlo_custody_export_result r = {0};
    tlo_custody_case cs;
    tlo_error err = {0};
    tlo_vault_identity *actor = NULL;
    tlo_custody *v = NULL;
    int rc = export_args(argc, argv, &o, &p);
    if (rc >= 0 || (rc = export_check(argc, argv, &o, &p)) >= 0)
        return rc;
    char session[33];
    if (!(v = cli_open(o.vault, false, &rc)) || (rc = cli_find_case(v, p.case_number, &cs)) != 0 ||
        (rc = cli_session_ref(v, &cs, p.session, session, NULL)) != 0)
        goto out;
    p.session = session;
    if (tlo_custody_export_check(&p, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    /* Anyone enrolled may ask; the custodian decides, and logs a refusal. */
    if (!(actor = cli_acting(v, o.as, o.pass_file,
                             TLO_ACT_LOGIN /* the custodian decides, and logs */, &rc)) ||
        (rc = cli_clip_range(v, &cs, session, actor, TLO_CUSTODY_EXPORT, o.from != NULL,
                             o.to != NULL, &p.from_ms, &p.to_ms)) != 0)
        goto out;
    cli_progress *shown = cli_progress_new(CLI_PROGRESS_EXPORT, o.json);
    p.progress = cli_progress_hook(shown);
    int xrc = tlo_custody_export(v, actor, &p, &r, &err);
    cli_progress_end(shown);
    if (xrc != 0) {
        rc = cli_fail(&err);
        if (r.clip_removed)
            cli_error("the clip that was made is gone, nothing is at %s: an export without "
                      "its manifest is not complete; export again when the cause is fixed",
                      p.out_path);
        goto out;
    }
    if (o.json)
        print_export_json(&p, &r, &cs, actor->name);
    else
        print_export(&p, &r, cs.number, actor->name);
    rc = EXIT_OK;
out:
    tlo_custody_export_result_free(&r);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

/* The client of the service links the clip itself (remote.c): the
 * checksum file is made from what it linked, read through its own fd. */
int cli_export_sha256_from_fd(int fd, const char *clip_path)
{
    enum { STEP = 1 << 20 };
    uint8_t *buf = malloc(STEP), sha[32];
    crypto_hash_sha256_state h;
    tlo_error err = {0};
    long long n = 0;
    if (!buf) {
        cli_error("out of memory making the checksum of %s", clip_path);
        return EXIT_SYSTEM;
    }
    crypto_hash_sha256_init(&h);
    for (uint64_t off = 0; (n = tlo_pread_full(fd, buf, STEP, off)) > 0; off += (uint64_t)n)
        crypto_hash_sha256_update(&h, buf, (size_t)n);
    free(buf);
    crypto_hash_sha256_final(&h, sha);
    if (n < 0) {
        cli_error("the export is complete, but %s could not be read back for its checksum "
                  "file: %s; make it in the clip's folder with 'sha256sum FILE > FILE.sha256'",
                  clip_path, strerror((int)-n));
        return EXIT_SYSTEM;
    }
    char *path = NULL;
    if (tlo_custody_export_write_sha256(clip_path, sha, &path, &err) != 0) {
        cli_error("the export is complete, but the checksum file of %s was not written: %s; "
                  "make it in the clip's folder with 'sha256sum FILE > FILE.sha256'",
                  clip_path, err.msg);
        return EXIT_SYSTEM;
    }
    free(path);
    return EXIT_OK;
}

/* ---- tellonce verify-export ------------------------------------------------- */

static void verify_export_usage(FILE *f)
{
    fputs(_("usage: tellonce verify-export CLIP.mp4 [--manifest FILE]\n"
            "                              (--verifier-key KEY | --vault DIR) [--json]\n"
            "\n"
            "Checks an exported clip against its manifest (default CLIP.mp4.manifest) with no\n"
            "key and no ledger database: the manifest's signature by the custodian's\n"
            "verifier key KEY (as 'tellonce checkpoint --verifier-key' prints it), the\n"
            "checkpoint's signature, the inclusion proofs of the access and export entries,\n"
            "that the access entry granted this export (case, session, range, person,\n"
            "action export), and the clip's SHA-256. --vault reads the key from a vault's\n"
            "ledger and also checks the ledger agrees: the entries, the checkpoint, and\n"
            "every source segment's entry. Exit status 0 when all holds, 1 when not.\n"
            "--json prints what was checked as one JSON object (docs/json.md).\n"),
          f);
}

typedef struct verify_opts {
    const char *vkey, *vault, *manifest;
    bool json;
} verify_opts;

/* The options into o. -1 to go on, or an exit code. */
static int verify_export_args(int argc, char **argv, verify_opts *o)
{
    static const struct option opts[] = {{"verifier-key", required_argument, NULL, 'k'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"manifest", required_argument, NULL, 'm'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->vkey = optarg;
            break;
        case 'V':
            o->vault = optarg;
            break;
        case 'm':
            o->manifest = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            verify_export_usage(stdout);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !!o->vkey == !!o->vault) {
        cli_error("verify-export takes one CLIP and either --verifier-key KEY or --vault DIR");
        return EXIT_USAGE;
    }
    return -1;
}

static void print_verify(const char *clip, const tlo_custody_export_report *r)
{
    const tlo_custody_manifest *m = &r->m;
    char sha_hex[65], case_hex[33];
    tlo_hex(sha_hex, r->sha256, 32);
    tlo_hex(case_hex, m->case_id, TLO_ID_BYTES);
    printf(_("OK: %s is the clip exported from case %s, session %s, %s to %s (the clip holds %s to "
             "%s), by %s at %s.\n"
             "  sha256    %s (%llu bytes), as the manifest and export entry %llu say\n"
             "  manifest  signed by the custodian %s\n"
             "  access    entry %llu granted this export (grant %s; purpose: %s)\n"),
           clip, case_hex, m->session, m->range[0], m->range[1], m->clip[0], m->clip[1], m->by,
           m->at, sha_hex, (unsigned long long)r->bytes, (unsigned long long)m->export_seq,
           r->signer, (unsigned long long)m->access_seq, m->grant, m->purpose);
    unsigned long long first = m->seg[0].index, last = m->seg[m->nseg - 1].index;
    if (r->ledger_checked)
        printf(_("  ledger    both entries are in the checkpoint of %llu entries signed by the "
                 "custodian; the vault's ledger matches it\n"
                 "  sources   %zu segment(s), %llu to %llu, each as its segment entry recorded\n"),
               (unsigned long long)r->checkpoint_size, m->nseg, first, last);
    else
        printf(_("  ledger    both entries are in the checkpoint of %llu entries signed by the "
                 "custodian\n"
                 "  sources   %zu segment(s), %llu to %llu\n"),
               (unsigned long long)r->checkpoint_size, m->nseg, first, last);
    if (m->watermark[0])
        printf(_("  watermark re-encoded with \"%s\" burned into every picture, as export entry "
                 "%llu says\n"),
               m->watermark, (unsigned long long)m->export_seq);
}

/* verify-export --json (docs/json.md). */
static void print_verify_json(const char *clip, const tlo_custody_export_report *r)
{
    const tlo_custody_manifest *m = &r->m;
    char sha_hex[65], case_hex[33];
    tlo_hex(sha_hex, r->sha256, 32);
    tlo_hex(case_hex, m->case_id, TLO_ID_BYTES);
    printf("{\"ok\":true,\"clip\":");
    cli_json_string(stdout, clip);
    printf(",\"case_id\":\"%s\",\"session\":\"%s\",\"person\":", case_hex, m->session);
    cli_json_string(stdout, m->by);
    printf(",\"at\":");
    cli_json_string(stdout, m->at);
    printf(",\"from_ms\":%llu,\"to_ms\":%llu,\"clip_start_ms\":%llu,\"clip_end_ms\":%llu,"
           "\"sha256\":\"%s\",\"bytes\":%llu,\"signer\":",
           (unsigned long long)m->from_ms, (unsigned long long)m->to_ms,
           (unsigned long long)m->clip_start_ms, (unsigned long long)m->clip_end_ms, sha_hex,
           (unsigned long long)r->bytes);
    cli_json_string(stdout, r->signer);
    uint64_t grant;
    printf(",\"access_entry\":%llu,\"export_entry\":%llu,\"grant_entry\":",
           (unsigned long long)m->access_seq, (unsigned long long)m->export_seq);
    if (tlo_parse_u64(m->grant, &grant) == 0)
        printf("%llu", (unsigned long long)grant);
    else
        printf("null"); /* the interviewer's own recording */
    printf(",\"purpose\":");
    cli_json_string(stdout, m->purpose);
    printf(",\"checkpoint_size\":%llu,\"ledger_checked\":%s,\"watermark\":",
           (unsigned long long)r->checkpoint_size, r->ledger_checked ? "true" : "false");
    if (m->watermark[0])
        cli_json_string(stdout, m->watermark);
    else
        printf("null");
    printf(",\"layout\":");
    if (m->layout[0])
        cli_json_string(stdout, m->layout);
    else
        printf("null");
    printf(",\"segments\":[");
    for (size_t i = 0; i < m->nseg; i++)
        printf("%s%llu", i ? "," : "", (unsigned long long)m->seg[i].index);
    printf("]}\n");
}

int cmd_verify_export(int argc, char **argv)
{
    verify_opts o = {0};
    tlo_note_verifier vk;
    tlo_error err = {0};
    tlo_custody *v = NULL;
    tlo_custody_export_report r;
    int rc = verify_export_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    tlo_custody_verify_export_params p = {.clip = argv[optind], .manifest = o.manifest};
    if (o.vkey) {
        if (tlo_note_verifier_parse(&vk, o.vkey, strlen(o.vkey), &err) != 0) {
            cli_error("--verifier-key: %s", err.msg);
            return EXIT_USAGE;
        }
        p.verifier = &vk;
    } else if (!(v = cli_open(o.vault, true, &rc))) {
        return rc;
    }
    if (tlo_custody_verify_export(v, &p, &r, &err) != 0) {
        rc = cli_fail(&err);
    } else {
        if (o.json)
            print_verify_json(p.clip, &r);
        else
            print_verify(p.clip, &r);
        rc = EXIT_OK;
    }
    tlo_custody_export_report_free(&r);
    tlo_custody_close(v);
    return rc;
}
