/* tellonce export and verify-export — a granted clip taken out of the vault
 * as a standard MP4, with a manifest signed by the custodian that ties its
 * bytes to the ledger; and the check of both that needs no key and no
 * ledger database (docs/export.md).
 *
 * export, in this order: the custodian checks the request and logs the
 * access entry (custodian.c) before it releases the keys of the segments in
 * range; the clip is remuxed (player/export.c), or with --watermark decoded
 * and re-encoded with the exporter's name burned into the picture
 * (player/export_watermark.c), and the keys are wiped; the
 * export entry (kind 42: the clip's SHA-256, the access entry) is logged;
 * the custodian signs a checkpoint of the ledger, which now holds both
 * entries; the manifest carries both entries with their inclusion proofs in
 * that checkpoint, and is signed by the custodian. Anything failing after
 * the clip was written removes the clip.
 *
 * The manifest is a C2SP signed note by the custodian's ledger key under the
 * ledger's origin as key name, the key 'tellonce checkpoint --verifier-key'
 * prints. Its text is these lines, in this order, each "key value":
 *
 *   tellonce.export-manifest/v1
 *   case NUMBER                       the case number police use
 *   case-id HEX32                     the case's internal id, as entries name it
 *   session HEX32
 *   range HH:MM:SS.mmm HH:MM:SS.mmm   the range granted to this export (access entry)
 *   clip HH:MM:SS.mmm HH:MM:SS.mmm    what the clip holds, from the keyframe at or before
 *   purpose TEXT                      as the access entry logged it
 *   grant N                           the grant entry used
 *   exported-by NAME
 *   exported-by-key HEX64             their Ed25519 public key (the access entry's actor=)
 *   exported-at YYYY-MM-DDTHH:MM:SS.mmmZ   the export entry's time, UTC
 *   access-entry N
 *   export-entry N
 *   tracks KIND:CODEC ...             "video:h264 video:h264 audio:aac"
 *   watermark TEXT                    only with --watermark: the text burned into every
 *                                     picture (the export entry's watermark=)
 *   segment INDEX OBJECT START_MS END_MS PLAINTEXT_SHA256 CIPHERTEXT_SHA256 ENTRY
 *                                     one line per source segment, in order
 *   bytes N                           the clip's size
 *   sha256sum HEX64  FILE             exactly as `sha256sum FILE` prints it
 *   proof access-entry LEN            then LEN bytes: the c2sp.org/tlog-proof@v1
 *   end proof                         of the access entry (which it carries)
 *   proof export-entry LEN            the same for the export entry; both proofs
 *   end proof                         hold the same checkpoint, verbatim
 */
#include "cli.h"
#include "custodian.h"
#include "export.h"
#include "merkle.h"
#include "note.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_HEADER "tellonce.export-manifest/v1"
#define MANIFEST_SUFFIX ".manifest"
#define FILE_NAME_MAX 255
#define PURPOSE_MAX 400
#define HASH_BUF_BYTES (1024 * 1024)

/* ---- shared ---------------------------------------------------------------- */

/* "HH:MM:SS.mmm" on the session clock. */
static void ms_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
             (unsigned long long)(ms % 1000));
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void utc_text(char *out, size_t cap, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[32];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03lluZ", s, (unsigned long long)(ms % 1000));
}

/* SHA-256 of a whole file. 0 or an exit code (printed). */
static int hash_file(const char *path, uint8_t sha[32], uint64_t *bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? EXIT_USAGE : EXIT_SYSTEM;
    }
    uint8_t *buf = malloc(HASH_BUF_BYTES);
    crypto_hash_sha256_state st;
    uint64_t off = 0;
    int rc = 0;
    crypto_hash_sha256_init(&st);
    while (buf) {
        long long n = tlo_pread_full(fd, buf, HASH_BUF_BYTES, off);
        if (n < 0) {
            cli_error("cannot read %s: %s", path, strerror((int)-n));
            rc = EXIT_SYSTEM;
            break;
        }
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        off += (uint64_t)n;
        if (n < HASH_BUF_BYTES)
            break;
    }
    if (!buf)
        rc = EXIT_SYSTEM;
    crypto_hash_sha256_final(&st, sha);
    *bytes = off;
    free(buf);
    close(fd);
    return rc;
}

/* ---- tellonce export -------------------------------------------------------- */

static void export_usage(FILE *f)
{
    fprintf(f, "usage: tellonce export CASE --session ID [--from HH:MM:SS] [--to HH:MM:SS]\n"
               "                       -o CLIP.mp4 --as NAME [--purpose TEXT] [--watermark]\n"
               "                       [--passphrase-file FILE] [--vault DIR]\n"
               "\n"
               "Exports the range --from to --to (session clock; default the whole session) of\n"
               "session ID of CASE as a standard MP4, stream copy, every camera and microphone,\n"
               "from the keyframe at or before --from. NAME needs a grant that allows export of\n"
               "that range (tellonce grant ... --actions export); the custodian logs the access\n"
               "before any key is released, and a refusal too. Beside CLIP.mp4 it writes\n"
               "CLIP.mp4.manifest, signed by the custodian: the source segments and their\n"
               "digests, the access and export entries with their inclusion proofs in a\n"
               "checkpoint, and the clip's SHA-256. Check both with 'tellonce verify-export'.\n"
               "The clip is plaintext (mode 0600): keep it as evidence is kept. Neither file\n"
               "may exist already.\n"
               "--watermark decodes the range and encodes it again (H.264, AAC) with\n"
               "\"EXPORTED FOR NAME - CASE NUMBER - local date and time\" burned into every\n"
               "picture, from --from itself; the manifest and the export entry say so.\n");
}

/* The inclusion proof of entry seq in the checkpoint cp_text (of cp_size
 * entries whose leaves are given), carrying the entry. 0 or an exit code. */
static int entry_proof(tlo_chain *ch, uint8_t (*leaves)[TLO_HASH_BYTES], const char *cp_text,
                       uint64_t cp_size, uint64_t seq, char **out, size_t *out_len)
{
    tlo_proof_inclusion *p = calloc(1, sizeof *p);
    uint8_t *buf = NULL, *enc = malloc(TLO_ENTRY_MAX_BYTES);
    tlo_entry e;
    tlo_error err = {0};
    int rc = EXIT_SYSTEM;
    if (!p || !enc) {
        cli_error("out of memory");
        goto out;
    }
    if (tlo_chain_get(ch, seq, &e, &buf, &err) != 0 ||
        tlo_merkle_inclusion_proof(cli_leaf_from_array, leaves, seq, cp_size, p->hashes,
                                   &p->nhashes, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    size_t n = tlo_entry_encode(&e, enc, TLO_ENTRY_MAX_BYTES);
    if (n == 0 || n > TLO_PROOF_EXTRA_MAX) {
        cli_error("entry %llu is %zu bytes, larger than a proof carries (%d)",
                  (unsigned long long)seq, n, TLO_PROOF_EXTRA_MAX);
        rc = EXIT_BAD_DATA;
        goto out;
    }
    p->index = seq;
    p->has_extra = true;
    p->extra_len = n;
    memcpy(p->extra, enc, n);
    p->checkpoint = cp_text;
    p->checkpoint_len = strlen(cp_text);
    rc = tlo_proof_inclusion_format(p, out, out_len, &err) != 0 ? cli_fail(&err) : 0;
out:
    free(p);
    free(enc);
    free(buf);
    return rc;
}

/* The custodian's checkpoint that covers entry `upto`, and the inclusion
 * proofs of the two entries in it. 0 or an exit code. */
static int proofs_in_checkpoint(const char *vault, tlo_chain *ch, const tlo_note_verifier *v,
                                uint64_t upto, uint64_t seq_a, uint64_t seq_b, char **proof_a,
                                size_t *len_a, char **proof_b, size_t *len_b, uint64_t *cp_size)
{
    char *path = NULL, *text = NULL;
    uint8_t(*leaves)[TLO_HASH_BYTES] = NULL;
    tlo_checkpoint cp;
    tlo_error err = {0};
    size_t len;
    int rc = cli_checkpoint_write(vault, ch, NULL, false);
    if (rc)
        return rc;
    if (!(path = cli_newest_checkpoint(vault))) {
        cli_error("the checkpoint just written is not in %s/checkpoints", vault);
        return EXIT_SYSTEM;
    }
    if ((rc = cli_read_file(path, TLO_NOTE_MAX_BYTES, &text, &len)) != 0)
        goto out;
    if (tlo_checkpoint_open(text, len, v, 1, v->name, &cp, &err) != 0) {
        cli_error("checkpoint %s: %s", path, err.msg);
        rc = EXIT_BAD_DATA;
        goto out;
    }
    if (cp.size <= upto) {
        cli_error("the newest checkpoint (%s) does not cover entry %llu", path,
                  (unsigned long long)upto);
        rc = EXIT_SYSTEM;
        goto out;
    }
    uint8_t root[TLO_HASH_BYTES];
    if (tlo_chain_leaf_hashes(ch, cp.size, &leaves, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    tlo_merkle_root_of_leaves(root, (const uint8_t(*)[TLO_HASH_BYTES])leaves, cp.size);
    if (sodium_memcmp(root, cp.root, TLO_HASH_BYTES) != 0) {
        cli_error("the ledger does not match its newest checkpoint %s; run 'tellonce verify'",
                  path);
        rc = EXIT_BAD_DATA;
        goto out;
    }
    *cp_size = cp.size;
    if ((rc = entry_proof(ch, leaves, text, cp.size, seq_a, proof_a, len_a)) == 0)
        rc = entry_proof(ch, leaves, text, cp.size, seq_b, proof_b, len_b);
out:
    free(leaves);
    free(text);
    free(path);
    return rc;
}

typedef struct export_facts {
    const cli_case *cs;
    const char *session, *file, *by;
    const uint8_t *by_pk;
    const cli_release *rel;
    const tlo_player_export_result *res;
    const char *watermark; /* burned into the picture, or NULL: stream copy */
    uint64_t export_seq, export_time_ms;
    char purpose[PURPOSE_MAX * 2], grant[24];
} export_facts;

/* The manifest's text (see the top of this file), malloc'd. */
static char *manifest_text(const export_facts *f, const char *proof_a, size_t len_a,
                           const char *proof_b, size_t len_b, size_t *len)
{
    char *text = NULL, a[40], b[40], hex[65], hex2[65], cid[33];
    FILE *m = open_memstream(&text, len);
    if (!m)
        return NULL;
    tlo_hex(cid, f->cs->id, TLO_ID_BYTES);
    fprintf(m, "%s\ncase %s\ncase-id %s\nsession %s\n", MANIFEST_HEADER, f->cs->number, cid,
            f->session);
    ms_text(a, sizeof a, f->rel->from_ms);
    ms_text(b, sizeof b, f->rel->to_ms);
    fprintf(m, "range %s %s\n", a, b);
    ms_text(a, sizeof a, f->res->clip_start_ms);
    ms_text(b, sizeof b, f->res->clip_end_ms);
    fprintf(m, "clip %s %s\npurpose %s\ngrant %s\nexported-by %s\n", a, b, f->purpose, f->grant,
            f->by);
    tlo_hex(hex, f->by_pk, 32);
    utc_text(a, sizeof a, f->export_time_ms);
    fprintf(m, "exported-by-key %s\nexported-at %s\naccess-entry %llu\nexport-entry %llu\ntracks",
            hex, a, (unsigned long long)f->rel->access_seq, (unsigned long long)f->export_seq);
    for (unsigned k = 0; k < f->res->tracks; k++)
        fprintf(m, " %s:%s", f->res->track[k].kind == TLO_PLAYER_TRACK_VIDEO ? "video" : "audio",
                f->res->track[k].codec);
    fputc('\n', m);
    if (f->watermark)
        fprintf(m, "watermark %s\n", f->watermark);
    for (size_t i = 0; i < f->rel->n; i++) {
        const cli_released_segment *s = &f->rel->seg[i];
        tlo_hex(hex, s->plaintext_sha256, 32);
        tlo_hex(hex2, s->ciphertext_sha256, 32);
        fprintf(m, "segment %llu %s %llu %llu %s %s %llu\n", (unsigned long long)s->index,
                s->object, (unsigned long long)s->start_ms, (unsigned long long)s->end_ms, hex,
                hex2, (unsigned long long)s->seq);
    }
    tlo_hex(hex, f->res->sha256, 32);
    fprintf(m, "bytes %llu\nsha256sum %s  %s\n", (unsigned long long)f->res->bytes, hex, f->file);
    fprintf(m, "proof access-entry %zu\n", len_a);
    fwrite(proof_a, 1, len_a, m);
    fprintf(m, "end proof\nproof export-entry %zu\n", len_b);
    fwrite(proof_b, 1, len_b, m);
    fprintf(m, "end proof\n");
    if (fclose(m) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Appends the export entry, signed by the custodian. 0 or an exit code. */
static int log_export(tlo_chain *ch, const tlo_vault_identity *cust, const export_facts *f,
                      uint64_t *seq, uint64_t *time_ms)
{
    char body[2048 + TLO_PLAYER_WATERMARK_MAX], sha[65], by[65];
    tlo_hex(sha, f->res->sha256, 32);
    tlo_hex(by, f->by_pk, 32);
    /* Keys in byte order, as a canonical body must have them ("watermark"
     * last, and only when there is one). */
    int n = snprintf(
        body, sizeof body,
        "access=%llu\nbytes=%llu\nclip_end_ms=%llu\nclip_sha256=%s\nclip_start_ms=%llu\n"
        "exporter=%s\nfile=%s\nfrom_ms=%llu\nsession=%s\nto_ms=%llu\n%s%s%s",
        (unsigned long long)f->rel->access_seq, (unsigned long long)f->res->bytes,
        (unsigned long long)f->res->clip_end_ms, sha, (unsigned long long)f->res->clip_start_ms, by,
        f->file, (unsigned long long)f->rel->from_ms, f->session, (unsigned long long)f->rel->to_ms,
        f->watermark ? "watermark=" : "", f->watermark ? f->watermark : "",
        f->watermark ? "\n" : "");
    if (n < 0 || (size_t)n >= sizeof body) {
        cli_error("the export entry's body does not fit in %zu bytes", sizeof body);
        return EXIT_SYSTEM;
    }
    tlo_chain_draft d = {.kind = TLO_ENTRY_EXPORT,
                         .has_case = true,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body)};
    memcpy(d.case_id, f->cs->id, TLO_ID_BYTES);
    tlo_chain_signer s = {.sk = cust->sign_sk};
    memcpy(s.pk, cust->sign_pk, 32);
    tlo_error err = {0};
    if (tlo_chain_append(ch, &d, 1, &s, seq, &err) != 0)
        return cli_fail(&err);
    tlo_entry e;
    uint8_t *buf = NULL;
    if (tlo_chain_get(ch, *seq, &e, &buf, &err) != 0)
        return cli_fail(&err);
    *time_ms = e.time_ms;
    free(buf);
    return 0;
}

/* The purpose and grant as the access entry logged them. */
static int access_facts(tlo_chain *ch, uint64_t seq, export_facts *f)
{
    tlo_entry e;
    uint8_t *buf = NULL;
    tlo_error err = {0};
    if (tlo_chain_get(ch, seq, &e, &buf, &err) != 0)
        return cli_fail(&err);
    int ok = e.kind == TLO_ENTRY_ACCESS_GRANTED &&
             tlo_entry_str(&e, "purpose", f->purpose, sizeof f->purpose) == 0 &&
             tlo_entry_str(&e, "grant", f->grant, sizeof f->grant) == 0;
    free(buf);
    if (!ok) {
        cli_error("entry %llu is not the access entry the custodian just logged",
                  (unsigned long long)seq);
        return EXIT_SYSTEM;
    }
    return 0;
}

int cmd_export(int argc, char **argv)
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
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *session = NULL, *from = NULL,
               *to = NULL, *out_path = NULL, *purpose = NULL;
    bool watermarked = false;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            as = optarg;
            break;
        case 'V':
            vault_opt = optarg;
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 's':
            session = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'p':
            purpose = optarg;
            break;
        case 'W':
            watermarked = true;
            break;
        case 'h':
            export_usage(stdout);
            return EXIT_OK;
        default:
            export_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !session || !out_path || !as) {
        cli_error("export takes CASE, --session, -o and --as; see 'tellonce export --help'");
        return EXIT_USAGE;
    }
    uint64_t from_ms = 0, to_ms = UINT64_MAX;
    if ((from && cli_parse_session_time(from, &from_ms) != 0) ||
        (to && cli_parse_session_time(to, &to_ms) != 0)) {
        cli_error("--from and --to take session times as HH:MM:SS, MM:SS or SS (.mmm optional)");
        return EXIT_USAGE;
    }
    if (to_ms <= from_ms) {
        cli_error("--to must come after --from");
        return EXIT_USAGE;
    }
    if (strlen(session) != 32 || strspn(session, "0123456789abcdef") != 32) {
        cli_error("--session takes a session id: 32 hex digits, as 'tellonce log' shows them");
        return EXIT_USAGE;
    }
    if (purpose && !tlo_text_ok(purpose, PURPOSE_MAX)) {
        cli_error("--purpose is one line of text, 1 to %d bytes", PURPOSE_MAX);
        return EXIT_USAGE;
    }
    const char *slash = strrchr(out_path, '/');
    const char *file = slash ? slash + 1 : out_path;
    if (!tlo_text_ok(file, FILE_NAME_MAX) || strchr(file, '\\')) {
        cli_error("-o: the clip's file name must be one line of text of at most %d bytes, "
                  "without a backslash (the manifest names it as sha256sum prints it)",
                  FILE_NAME_MAX);
        return EXIT_USAGE;
    }
    /* A directory we cannot write in is a usage error, found before any
     * access is asked for. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out_path) + (slash == out_path) : 1,
             slash ? out_path : ".");
    if (access(dir, W_OK) != 0) {
        cli_error("cannot write the clip in %s: %s", dir, strerror(errno));
        return EXIT_USAGE;
    }
    size_t ml = strlen(out_path) + sizeof MANIFEST_SUFFIX;
    char *manifest_path = malloc(ml);
    if (!manifest_path)
        return EXIT_SYSTEM;
    snprintf(manifest_path, ml, "%s%s", out_path, MANIFEST_SUFFIX);
    if (access(out_path, F_OK) == 0 || access(manifest_path, F_OK) == 0) {
        cli_error("%s already exists; tellonce never overwrites a file",
                  access(out_path, F_OK) == 0 ? out_path : manifest_path);
        free(manifest_path);
        return EXIT_USAGE;
    }

    char *vault = cli_vault_dir(vault_opt), origin[TLO_NOTE_NAME_MAX + 1];
    char *proof_a = NULL, *proof_b = NULL, *text = NULL, *note = NULL;
    size_t len_a = 0, len_b = 0, text_len = 0, note_len = 0;
    cli_people pp = {0};
    cli_release rel = {0};
    cli_case cs;
    tlo_note_verifier v;
    tlo_vault_identity *actor = NULL, *cust = NULL;
    tlo_player_export_segment *segs = NULL;
    char **paths = NULL;
    tlo_player_export_result res = {0};
    tlo_error err = {0};
    bool clip_written = false;
    char watermark[TLO_PLAYER_WATERMARK_MAX + 1] = "";
    tlo_chain *ch = cli_open_ledger(vault, false, &rc);
    if (!ch || (rc = cli_vault_trust(ch, origin, sizeof origin, &v)) != 0 ||
        (rc = cli_people_load(ch, &pp)) != 0 ||
        (rc = cli_case_find(ch, argv[optind], &cs, false)) != 0)
        goto out;
    /* Anyone enrolled may ask; the custodian decides, and logs a refusal. */
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp,
                                    TLO_ROLE_PROSECUTOR | TLO_ROLE_MEDICAL | TLO_ROLE_ADMIN |
                                        TLO_ROLE_INTERVIEWER | TLO_ROLE_AUDITOR,
                                    "person", &rc)))
        goto out;
    cli_request req = {.cs = &cs,
                       .from_ms = from_ms,
                       .to_ms = to_ms,
                       .action = CLI_ACTION_EXPORT,
                       .purpose = purpose};
    snprintf(req.session, sizeof req.session, "%s", session);
    if ((rc = cli_custodian_release(vault, ch, &pp, actor, &req, &rel)) != 0)
        goto out; /* refused (and logged), or nothing was released */
    if (rel.n == 0 || rel.n > TLO_PLAYER_EXPORT_MAX_SEGMENTS) {
        cli_error("the range covers %zu segments; one export holds 1 to %d: export it in parts",
                  rel.n, TLO_PLAYER_EXPORT_MAX_SEGMENTS);
        rc = EXIT_USAGE;
        goto out;
    }
    segs = calloc(rel.n, sizeof *segs);
    paths = calloc(rel.n, sizeof *paths);
    if (!segs || !paths) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    for (size_t i = 0; i < rel.n; i++) {
        char name[64];
        snprintf(name, sizeof name, "objects/%s.tlo", rel.seg[i].object);
        if (!(paths[i] = tlo_path_join(vault, name))) {
            rc = EXIT_SYSTEM;
            goto out;
        }
        segs[i] = (tlo_player_export_segment){.path = paths[i],
                                              .object_key = rel.seg[i].key,
                                              .index = rel.seg[i].index,
                                              .start_ms = rel.seg[i].start_ms,
                                              .end_ms = rel.seg[i].end_ms};
    }
    uint8_t actor_id[32];
    crypto_hash_sha256(actor_id, actor->sign_pk, 32);
    const cli_person *by = cli_people_by_actor(&pp, actor_id); /* the name the ledger enrols */
    if (watermarked) {
        /* Who, which case, when (local time, with its zone): on every picture. */
        char when[64];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
        snprintf(watermark, sizeof watermark, "EXPORTED FOR %s - CASE %s - %s",
                 by ? by->name : actor->name, cs.number, when);
        if (!tlo_text_ok(watermark, TLO_PLAYER_WATERMARK_MAX)) {
            cli_error("the watermark \"%s\" is not one line of text of at most %d bytes", watermark,
                      TLO_PLAYER_WATERMARK_MAX);
            rc = EXIT_BAD_DATA;
            goto out;
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int xr = watermarked
                 ? tlo_player_export_mp4_watermarked(segs, rel.n, rel.from_ms, rel.to_ms, watermark,
                                                     out_path, &res, &err)
                 : tlo_player_export_mp4(segs, rel.n, rel.from_ms, rel.to_ms, out_path, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* The keys have done their work: wipe them now. */
    for (size_t i = 0; i < rel.n; i++) {
        sodium_free(rel.seg[i].key);
        rel.seg[i].key = NULL;
    }
    if (xr != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    clip_written = true;

    export_facts f = {.cs = &cs,
                      .session = session,
                      .file = file,
                      .by = by ? by->name : actor->name,
                      .by_pk = actor->sign_pk,
                      .rel = &rel,
                      .res = &res,
                      .watermark = watermarked ? watermark : NULL};
    if ((rc = access_facts(ch, rel.access_seq, &f)) != 0)
        goto out;
    if (!(cust = cli_unlock_custodian(vault))) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    if ((rc = log_export(ch, cust, &f, &f.export_seq, &f.export_time_ms)) != 0)
        goto out;
    uint64_t cp_size = 0;
    if ((rc = proofs_in_checkpoint(vault, ch, &v, f.export_seq, rel.access_seq, f.export_seq,
                                   &proof_a, &len_a, &proof_b, &len_b, &cp_size)) != 0)
        goto out;
    if (!(text = manifest_text(&f, proof_a, len_a, proof_b, len_b, &text_len))) {
        cli_error("out of memory for the manifest");
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (tlo_note_sign(text, text_len, origin, cust->sign_sk, &note, &note_len, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (cli_write_new_file(manifest_path, note, note_len, 0644) != 0) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    clip_written = false; /* complete: keep it */

    char a[40], b[40], ca[40], cb[40], sha[65];
    unsigned video = 0, audio = 0;
    for (unsigned k = 0; k < res.tracks; k++) {
        if (res.track[k].kind == TLO_PLAYER_TRACK_VIDEO)
            video++;
        else
            audio++;
    }
    ms_text(a, sizeof a, rel.from_ms);
    ms_text(b, sizeof b, rel.to_ms);
    ms_text(ca, sizeof ca, res.clip_start_ms);
    ms_text(cb, sizeof cb, res.clip_end_ms);
    tlo_hex(sha, res.sha256, 32);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char how[96];
    if (watermarked)
        snprintf(how, sizeof how, "re-encoded with the watermark in %.3f s (%.1fx real time)", secs,
                 secs > 0 ? (double)(res.clip_end_ms - res.clip_start_ms) / 1000.0 / secs : 0.0);
    else
        snprintf(how, sizeof how, "stream copy in %.3f s", secs);
    printf("Exported %s to %s of session %s of case %s for %s: %u camera and %u microphone "
           "track(s) from %zu segment(s), %s.\n"
           "  clip      %s (%llu bytes, %s to %s of the session%s%s)\n",
           a, b, session, cs.number, actor->name, video, audio, rel.n, how, out_path,
           (unsigned long long)res.bytes, ca, cb,
           watermarked ? "" : ": it starts at the keyframe at or before ", watermarked ? "" : a);
    if (watermarked)
        printf("  watermark %s\n", watermark);
    printf("  sha256    %s\n"
           "  manifest  %s, signed by the custodian\n"
           "  logged    access entry %llu, export entry %llu, checkpoint of %llu entries\n"
           "The clip is plaintext: keep it as evidence is kept. Check it with 'tellonce "
           "verify-export %s --verifier-key KEY'.\n",
           sha, manifest_path, (unsigned long long)rel.access_seq, (unsigned long long)f.export_seq,
           (unsigned long long)cp_size, out_path);
    for (unsigned k = 0, nv = 0, na = 0; k < res.tracks; k++) {
        bool is_video = res.track[k].kind == TLO_PLAYER_TRACK_VIDEO;
        unsigned number = is_video ? ++nv : ++na;
        if (res.track[k].packets == 0)
            printf("Note: %s %u has nothing in this range (%s), so its track in the clip is "
                   "empty.\n",
                   is_video ? "camera" : "microphone", number,
                   is_video ? "no keyframe to start on" : "no audio");
    }
    rc = EXIT_OK;
out:
    if (clip_written) {
        unlink(out_path);
        cli_error("%s was removed: an export without its manifest is not complete", out_path);
    }
    for (size_t i = 0; paths && i < rel.n; i++)
        free(paths[i]);
    free(paths);
    free(segs);
    cli_release_free(&rel);
    tlo_vault_identity_free(cust);
    tlo_vault_identity_free(actor);
    cli_people_free(&pp);
    tlo_chain_close(ch);
    free(proof_a);
    free(proof_b);
    free(text);
    free(note);
    free(manifest_path);
    free(vault);
    return rc;
}

/* ---- tellonce verify-export ------------------------------------------------- */

typedef struct mf_segment {
    uint64_t index, start_ms, end_ms, seq;
    char object[33];
    uint8_t pt[32], ct[32];
} mf_segment;

typedef struct manifest {
    char case_number[81], session[33], purpose[PURPOSE_MAX * 2], by[TLO_NAME_MAX + 1];
    char range[2][24], clip[2][24], at[40], grant[24], tracks[200], file[FILE_NAME_MAX + 1];
    char watermark[TLO_PLAYER_WATERMARK_MAX + 1]; /* "" when the clip is a stream copy */
    uint8_t case_id[TLO_ID_BYTES], by_pk[32], sha256[32];
    uint64_t from_ms, to_ms, clip_start_ms, clip_end_ms, access_seq, export_seq, bytes;
    mf_segment *seg;
    size_t nseg;
    const char *proof[2]; /* into the note's text */
    size_t proof_len[2];
} manifest;

typedef struct cursor {
    const char *p, *end;
    unsigned line;
} cursor;

static int next_line(cursor *c, const char **s, size_t *n)
{
    const char *nl = c->p < c->end ? memchr(c->p, '\n', (size_t)(c->end - c->p)) : NULL;
    if (!nl)
        return -1;
    *s = c->p;
    *n = (size_t)(nl - c->p);
    c->p = nl + 1;
    c->line++;
    return 0;
}

/* Reads the line "key value" into out (the value, 1..cap-1 bytes). */
static int line_value(cursor *c, const char *key, char *out, size_t cap, char *why, size_t wcap)
{
    const char *s;
    size_t n, k = strlen(key);
    if (next_line(c, &s, &n) != 0 || n <= k + 1 || memcmp(s, key, k) != 0 || s[k] != ' ' ||
        n - k - 1 >= cap) {
        snprintf(why, wcap, "line %u is not the \"%s\" line it must be", c->line, key);
        return -1;
    }
    memcpy(out, s + k + 1, n - k - 1);
    out[n - k - 1] = '\0';
    return 0;
}

static int hex_value(const char *s, uint8_t *out, size_t len)
{
    return strlen(s) == 2 * len && strspn(s, "0123456789abcdef") == 2 * len &&
                   tlo_unhex(out, len, s) == 0
               ? 0
               : -1;
}

/* Two session times "HH:MM:SS.mmm HH:MM:SS.mmm", written as ms_text writes them. */
static int range_value(const char *s, char out[2][24], uint64_t *a, uint64_t *b)
{
    char x[24], y[24], check[24];
    if (sscanf(s, "%23s %23s", x, y) != 2 || cli_parse_session_time(x, a) != 0 ||
        cli_parse_session_time(y, b) != 0)
        return -1;
    ms_text(check, sizeof check, *a);
    if (strcmp(check, x))
        return -1;
    ms_text(check, sizeof check, *b);
    if (strcmp(check, y))
        return -1;
    snprintf(out[0], 24, "%s", x);
    snprintf(out[1], 24, "%s", y);
    return 0;
}

static int proof_block(cursor *c, const char *name, const char **proof, size_t *len, char *why,
                       size_t wcap)
{
    char v[64], key[80], tail[2];
    size_t n;
    const char *s;
    snprintf(key, sizeof key, "proof %s", name);
    if (line_value(c, key, v, sizeof v, why, wcap) != 0)
        return -1;
    unsigned long long u;
    if (sscanf(v, "%llu%1s", &u, tail) != 1 || u == 0 || u > TLO_PROOF_MAX_BYTES ||
        u > (unsigned long long)(c->end - c->p)) {
        snprintf(why, wcap, "line %u: the length of the proof of the %s is not valid", c->line,
                 name);
        return -1;
    }
    *proof = c->p;
    *len = (size_t)u;
    for (const char *q = c->p; q < c->p + u; q++)
        if (*q == '\n')
            c->line++;
    c->p += u;
    if (next_line(c, &s, &n) != 0 || n != 9 || memcmp(s, "end proof", 9) != 0) {
        snprintf(why, wcap, "line %u: the proof of the %s does not end where its length says",
                 c->line, name);
        return -1;
    }
    return 0;
}

/* Parses the manifest's text (already authenticated). 0, or -1 with why. */
static int parse_manifest(const char *text, size_t len, manifest *m, char *why, size_t wcap)
{
    cursor c = {.p = text, .end = text + len};
    char v[TLO_NOTE_LINE_MAX + 1], tail[2];
    const char *s;
    size_t n;
    memset(m, 0, sizeof *m);
    if (next_line(&c, &s, &n) != 0 || n != strlen(MANIFEST_HEADER) ||
        memcmp(s, MANIFEST_HEADER, n) != 0) {
        snprintf(why, wcap, "its first line is not %s", MANIFEST_HEADER);
        return -1;
    }
#define FIELD(key, out)                                                                            \
    if (line_value(&c, key, out, sizeof out, why, wcap) != 0)                                      \
    return -1
#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(why, wcap, __VA_ARGS__);                                                          \
        return -1;                                                                                 \
    } while (0)
    FIELD("case", m->case_number);
    FIELD("case-id", v);
    if (hex_value(v, m->case_id, TLO_ID_BYTES) != 0)
        BAD("line %u: case-id is not 32 hex digits", c.line);
    FIELD("session", m->session);
    if (strlen(m->session) != 32 || strspn(m->session, "0123456789abcdef") != 32)
        BAD("line %u: session is not 32 hex digits", c.line);
    FIELD("range", v);
    if (range_value(v, m->range, &m->from_ms, &m->to_ms) != 0)
        BAD("line %u: range is not two session times", c.line);
    FIELD("clip", v);
    if (range_value(v, m->clip, &m->clip_start_ms, &m->clip_end_ms) != 0)
        BAD("line %u: clip is not two session times", c.line);
    FIELD("purpose", m->purpose);
    FIELD("grant", m->grant);
    FIELD("exported-by", m->by);
    FIELD("exported-by-key", v);
    if (hex_value(v, m->by_pk, 32) != 0)
        BAD("line %u: exported-by-key is not 64 hex digits", c.line);
    FIELD("exported-at", m->at);
    FIELD("access-entry", v);
    if (tlo_parse_u64(v, &m->access_seq) != 0)
        BAD("line %u: access-entry is not an entry number", c.line);
    FIELD("export-entry", v);
    if (tlo_parse_u64(v, &m->export_seq) != 0)
        BAD("line %u: export-entry is not an entry number", c.line);
    FIELD("tracks", m->tracks);
    {
        cursor peek = c; /* an optional watermark line */
        if (next_line(&peek, &s, &n) == 0 && n > 10 && memcmp(s, "watermark ", 10) == 0)
            FIELD("watermark", m->watermark);
    }
    /* One or more segment lines. */
    for (;;) {
        cursor peek = c;
        if (next_line(&peek, &s, &n) != 0 || n < 8 || memcmp(s, "segment ", 8) != 0)
            break;
        if (m->nseg == TLO_PLAYER_EXPORT_MAX_SEGMENTS)
            BAD("more than %d segment lines", TLO_PLAYER_EXPORT_MAX_SEGMENTS);
        FIELD("segment", v);
        mf_segment *p = realloc(m->seg, (m->nseg + 1) * sizeof *p);
        if (!p)
            BAD("out of memory");
        m->seg = p;
        mf_segment *g = &m->seg[m->nseg++];
        char idx[24], a[24], b[24], pt[72], ct[72], seq[24];
        if (sscanf(v, "%23s %32s %23s %23s %71s %71s %23s%1s", idx, g->object, a, b, pt, ct, seq,
                   tail) != 7 ||
            tlo_parse_u64(idx, &g->index) != 0 || strlen(g->object) != 32 ||
            tlo_parse_u64(a, &g->start_ms) != 0 || tlo_parse_u64(b, &g->end_ms) != 0 ||
            hex_value(pt, g->pt, 32) != 0 || hex_value(ct, g->ct, 32) != 0 ||
            tlo_parse_u64(seq, &g->seq) != 0)
            BAD("line %u: a segment line must be INDEX OBJECT START_MS END_MS "
                "PLAINTEXT_SHA256 CIPHERTEXT_SHA256 ENTRY",
                c.line);
    }
    if (m->nseg == 0)
        BAD("line %u: there is no segment line", c.line + 1);
    FIELD("bytes", v);
    if (tlo_parse_u64(v, &m->bytes) != 0)
        BAD("line %u: bytes is not a number", c.line);
    FIELD("sha256sum", v);
    if (strlen(v) < 67 || v[64] != ' ' || v[65] != ' ' || strlen(v + 66) >= sizeof m->file)
        BAD("line %u: sha256sum is not as sha256sum prints it", c.line);
    v[64] = '\0';
    if (hex_value(v, m->sha256, 32) != 0)
        BAD("line %u: sha256sum is not as sha256sum prints it", c.line);
    snprintf(m->file, sizeof m->file, "%s", v + 66);
    if (proof_block(&c, "access-entry", &m->proof[0], &m->proof_len[0], why, wcap) != 0 ||
        proof_block(&c, "export-entry", &m->proof[1], &m->proof_len[1], why, wcap) != 0)
        return -1;
    if (c.p != c.end)
        BAD("line %u: text follows the last proof", c.line + 1);
#undef FIELD
#undef BAD
    return 0;
}

/* An entry carried by a proof in the manifest, proven in the checkpoint and
 * signed by the custodian. 0 or EXIT_BAD_DATA (printed). */
static int open_entry_proof(const char *what, const char *text, size_t len,
                            const tlo_note_verifier *v, tlo_proof_inclusion *p, tlo_checkpoint *cp,
                            tlo_entry *e)
{
    tlo_error err = {0};
    uint8_t leaf[TLO_HASH_BYTES];
    if (tlo_proof_inclusion_open(text, len, v, 1, v->name, p, cp, &err) != 0) {
        cli_error("the inclusion proof of the %s: %s", what, err.msg);
        return EXIT_BAD_DATA;
    }
    if (!p->has_extra || tlo_entry_decode(p->extra, p->extra_len, e, &err) != 0) {
        cli_error("the inclusion proof of the %s does not carry a ledger entry%s%s", what,
                  err.msg[0] ? ": " : "", err.msg);
        return EXIT_BAD_DATA;
    }
    if (e->seq != p->index) {
        cli_error("the inclusion proof of the %s proves leaf %llu but carries entry %llu", what,
                  (unsigned long long)p->index, (unsigned long long)e->seq);
        return EXIT_BAD_DATA;
    }
    tlo_entry_leaf_hash(e, leaf);
    if (tlo_merkle_verify_inclusion(leaf, p->index, cp->size,
                                    (const uint8_t(*)[TLO_HASH_BYTES])p->hashes, p->nhashes,
                                    cp->root, &err) != 0) {
        cli_error("the %s (entry %llu) is NOT proven to be in the checkpoint: %s", what,
                  (unsigned long long)e->seq, err.msg);
        return EXIT_BAD_DATA;
    }
    if (!tlo_entry_verify(e, v->public_key)) {
        cli_error("the %s (entry %llu) is not signed by the custodian", what,
                  (unsigned long long)e->seq);
        return EXIT_BAD_DATA;
    }
    return 0;
}

/* Does the entry's body hold key=want? */
static bool body_is(const tlo_entry *e, const char *key, const char *want)
{
    char v[TLO_NOTE_LINE_MAX];
    return tlo_entry_str(e, key, v, sizeof v) == 0 && !strcmp(v, want);
}

static bool body_is_u64(const tlo_entry *e, const char *key, uint64_t want)
{
    uint64_t v;
    return tlo_entry_u64(e, key, &v) == 0 && v == want;
}

/* The access entry says what the manifest says. */
static int check_access(const manifest *m, const tlo_entry *e)
{
    char pk[65], segs[64];
    const char *bad = NULL;
    tlo_hex(pk, m->by_pk, 32);
    snprintf(segs, sizeof segs, "%llu-%llu", (unsigned long long)m->seg[0].index,
             (unsigned long long)m->seg[m->nseg - 1].index);
    if (e->seq != m->access_seq)
        bad = "its number";
    else if (e->kind != TLO_ENTRY_ACCESS_GRANTED)
        bad = "its kind (it is not an access-granted entry)";
    else if (!e->has_case || memcmp(e->case_id, m->case_id, TLO_ID_BYTES) != 0)
        bad = "the case";
    else if (!body_is(e, "action", "export"))
        bad = "the action (it did not grant an export)";
    else if (!body_is(e, "session", m->session))
        bad = "the session";
    else if (!body_is_u64(e, "from_ms", m->from_ms) || !body_is_u64(e, "to_ms", m->to_ms))
        bad = "the range";
    else if (!body_is(e, "actor", pk))
        bad = "who was granted access";
    else if (!body_is(e, "purpose", m->purpose))
        bad = "the purpose";
    else if (!body_is(e, "grant", m->grant))
        bad = "the grant";
    else if (!body_is(e, "segments", segs))
        bad = "the segments released";
    for (size_t i = 1; !bad && i < m->nseg; i++)
        if (m->seg[i].index != m->seg[i - 1].index + 1)
            bad = "the segments (the manifest's list has a gap)";
    if (bad) {
        cli_error("the manifest and its access entry %llu disagree on %s",
                  (unsigned long long)e->seq, bad);
        return EXIT_BAD_DATA;
    }
    return 0;
}

/* The export entry says what the manifest says. */
static int check_export(const manifest *m, const tlo_entry *e)
{
    char pk[65], sha[65], at[40];
    size_t wl;
    const char *bad = NULL;
    tlo_hex(pk, m->by_pk, 32);
    tlo_hex(sha, m->sha256, 32);
    utc_text(at, sizeof at, e->time_ms);
    if (e->seq != m->export_seq)
        bad = "its number";
    else if (e->kind != TLO_ENTRY_EXPORT)
        bad = "its kind (it is not an export entry)";
    else if (!e->has_case || memcmp(e->case_id, m->case_id, TLO_ID_BYTES) != 0)
        bad = "the case";
    else if (!body_is_u64(e, "access", m->access_seq))
        bad = "the access entry";
    else if (!body_is(e, "clip_sha256", sha))
        bad = "the clip's SHA-256";
    else if (!body_is_u64(e, "bytes", m->bytes))
        bad = "the clip's size";
    else if (!body_is(e, "session", m->session))
        bad = "the session";
    else if (!body_is_u64(e, "from_ms", m->from_ms) || !body_is_u64(e, "to_ms", m->to_ms))
        bad = "the range";
    else if (!body_is_u64(e, "clip_start_ms", m->clip_start_ms) ||
             !body_is_u64(e, "clip_end_ms", m->clip_end_ms))
        bad = "what the clip holds";
    else if (!body_is(e, "exporter", pk))
        bad = "who exported it";
    else if (!body_is(e, "file", m->file))
        bad = "the clip's file name";
    else if (m->watermark[0] ? !body_is(e, "watermark", m->watermark)
                             : tlo_entry_body_get(e->body, e->body_len, "watermark", &wl) != NULL)
        bad = "the watermark burned into the clip (or whether there is one)";
    else if (strcmp(at, m->at) != 0)
        bad = "when it was exported";
    if (bad) {
        cli_error("the manifest and its export entry %llu disagree on %s",
                  (unsigned long long)e->seq, bad);
        return EXIT_BAD_DATA;
    }
    return 0;
}

/* With the vault's ledger at hand: the two entries are the ledger's own,
 * the ledger matches the checkpoint, and every source segment line is its
 * segment entry. 0 or an exit code (printed). */
static int check_ledger(tlo_chain *ch, const manifest *m, const tlo_checkpoint *cp,
                        const tlo_entry *entries[2])
{
    tlo_error err = {0};
    uint8_t(*leaves)[TLO_HASH_BYTES] = NULL, root[TLO_HASH_BYTES];
    uint64_t size;
    int rc = EXIT_BAD_DATA;
    if (tlo_chain_size(ch, &size, &err) != 0)
        return cli_fail(&err);
    if (size < cp->size) {
        cli_error("the vault's ledger has %llu entries, fewer than the manifest's checkpoint "
                  "(%llu): it was truncated, or it is another vault",
                  (unsigned long long)size, (unsigned long long)cp->size);
        return EXIT_BAD_DATA;
    }
    if (tlo_chain_leaf_hashes(ch, cp->size, &leaves, &err) != 0)
        return cli_fail(&err);
    tlo_merkle_root_of_leaves(root, (const uint8_t(*)[TLO_HASH_BYTES])leaves, cp->size);
    if (sodium_memcmp(root, cp->root, TLO_HASH_BYTES) != 0) {
        cli_error("the vault's ledger does not match the manifest's checkpoint: the root of its "
                  "first %llu entries differs (rewritten, forked, or another vault)",
                  (unsigned long long)cp->size);
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        uint8_t leaf[TLO_HASH_BYTES];
        tlo_entry_leaf_hash(entries[i], leaf);
        if (sodium_memcmp(leaf, leaves[entries[i]->seq], TLO_HASH_BYTES) != 0) {
            cli_error("entry %llu of the vault's ledger is not the entry the manifest carries",
                      (unsigned long long)entries[i]->seq);
            goto out;
        }
    }
    for (size_t i = 0; i < m->nseg; i++) {
        const mf_segment *g = &m->seg[i];
        tlo_entry e;
        uint8_t *buf = NULL;
        char pt[65], ct[65];
        tlo_hex(pt, g->pt, 32);
        tlo_hex(ct, g->ct, 32);
        if (g->seq >= cp->size || tlo_chain_get(ch, g->seq, &e, &buf, &err) != 0) {
            cli_error("segment %llu: its entry %llu is not in the ledger",
                      (unsigned long long)g->index, (unsigned long long)g->seq);
            free(buf);
            goto out;
        }
        uint8_t leaf[TLO_HASH_BYTES];
        tlo_entry_leaf_hash(&e, leaf);
        bool ok = sodium_memcmp(leaf, leaves[g->seq], TLO_HASH_BYTES) == 0 &&
                  e.kind == TLO_ENTRY_SEGMENT && e.has_case &&
                  !memcmp(e.case_id, m->case_id, TLO_ID_BYTES) &&
                  body_is(&e, "session", m->session) && body_is_u64(&e, "index", g->index) &&
                  body_is(&e, "object", g->object) && body_is_u64(&e, "start_ms", g->start_ms) &&
                  body_is_u64(&e, "end_ms", g->end_ms) && body_is(&e, "plaintext_sha256", pt) &&
                  body_is(&e, "ciphertext_sha256", ct);
        free(buf);
        if (!ok) {
            cli_error("segment %llu of the manifest is not what its entry %llu in the ledger "
                      "recorded",
                      (unsigned long long)g->index, (unsigned long long)g->seq);
            goto out;
        }
    }
    rc = 0;
out:
    free(leaves);
    return rc;
}

static void verify_export_usage(FILE *f)
{
    fprintf(f, "usage: tellonce verify-export CLIP.mp4 [--manifest FILE]\n"
               "                              (--verifier-key KEY | --vault DIR)\n"
               "\n"
               "Checks an exported clip against its manifest (default CLIP.mp4.manifest) with no\n"
               "key and no ledger database: the manifest's signature by the custodian's\n"
               "verifier key KEY (as 'tellonce checkpoint --verifier-key' prints it), the\n"
               "checkpoint's signature, the inclusion proofs of the access and export entries,\n"
               "that the access entry granted this export (case, session, range, person,\n"
               "action export), and the clip's SHA-256. --vault reads the key from a vault's\n"
               "ledger and also checks the ledger agrees: the entries, the checkpoint, and\n"
               "every source segment's entry. Exit status 0 when all holds, 1 when not.\n");
}

int cmd_verify_export(int argc, char **argv)
{
    static const struct option opts[] = {{"verifier-key", required_argument, NULL, 'k'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"manifest", required_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vkey = NULL, *vault_opt = NULL, *manifest_opt = NULL;
    int c, rc = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            vkey = optarg;
            break;
        case 'V':
            vault_opt = optarg;
            break;
        case 'm':
            manifest_opt = optarg;
            break;
        case 'h':
            verify_export_usage(stdout);
            return EXIT_OK;
        default:
            verify_export_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !!vkey == !!vault_opt) {
        cli_error("verify-export takes one CLIP and either --verifier-key KEY or --vault DIR");
        return EXIT_USAGE;
    }
    const char *clip = argv[optind];
    char *manifest_path = NULL, *text = NULL, why[300] = "";
    size_t len;
    tlo_note_verifier v;
    tlo_error err = {0};
    tlo_chain *ch = NULL;
    tlo_proof_inclusion *p[2] = {calloc(1, sizeof *p[0]), calloc(1, sizeof *p[1])};
    tlo_note *note = calloc(1, sizeof *note);
    manifest m = {0};
    if (!p[0] || !p[1] || !note) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (manifest_opt) {
        manifest_path = strdup(manifest_opt);
    } else if ((manifest_path = malloc(strlen(clip) + sizeof MANIFEST_SUFFIX))) {
        sprintf(manifest_path, "%s%s", clip, MANIFEST_SUFFIX);
    }
    if (!manifest_path) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (vkey) {
        if (tlo_note_verifier_parse(&v, vkey, strlen(vkey), &err) != 0) {
            cli_error("--verifier-key: %s", err.msg);
            rc = EXIT_USAGE;
            goto out;
        }
    } else {
        char *vault = cli_vault_dir(vault_opt), origin[TLO_NOTE_NAME_MAX + 1];
        ch = cli_open_ledger(vault, true, &rc);
        free(vault);
        if (!ch || (rc = cli_vault_trust(ch, origin, sizeof origin, &v)) != 0)
            goto out;
    }

    /* 1. The manifest: signed by the custodian, then parsed. */
    if ((rc = cli_read_file(manifest_path, TLO_NOTE_MAX_BYTES, &text, &len)) != 0)
        goto out;
    rc = EXIT_BAD_DATA;
    if (tlo_note_open(text, len, &v, 1, note, &err) != 0) {
        cli_error("the manifest %s is not signed by the custodian %s, or was changed since: %s",
                  manifest_path, v.name, err.msg);
        goto out;
    }
    if (parse_manifest(note->text, note->text_len, &m, why, sizeof why) != 0) {
        cli_error("the manifest %s is signed, but is not a manifest tellonce reads: %s",
                  manifest_path, why);
        goto out;
    }

    /* 2. Its two entries: in the signed checkpoint, signed by the custodian,
     * and saying what the manifest says. */
    tlo_checkpoint cp[2];
    tlo_entry e[2];
    static const char *const what[2] = {"access entry", "export entry"};
    for (int i = 0; i < 2; i++)
        if ((rc = open_entry_proof(what[i], m.proof[i], m.proof_len[i], &v, p[i], &cp[i], &e[i])) !=
            0)
            goto out;
    if ((rc = check_access(&m, &e[0])) != 0 || (rc = check_export(&m, &e[1])) != 0)
        goto out;

    /* 3. The clip's bytes. */
    uint8_t sha[32];
    uint64_t bytes;
    if ((rc = hash_file(clip, sha, &bytes)) != 0)
        goto out;
    if (sodium_memcmp(sha, m.sha256, 32) != 0 || bytes != m.bytes) {
        char got[65], want[65];
        tlo_hex(got, sha, 32);
        tlo_hex(want, m.sha256, 32);
        cli_error("the clip %s is NOT the exported clip: its SHA-256 is %s (%llu bytes), the "
                  "manifest says %s (%llu bytes)",
                  clip, got, (unsigned long long)bytes, want, (unsigned long long)m.bytes);
        rc = EXIT_BAD_DATA;
        goto out;
    }

    /* 4. With the vault: its ledger agrees. */
    const tlo_entry *pe[2] = {&e[0], &e[1]};
    if (ch && (rc = check_ledger(ch, &m, cp[0].size >= cp[1].size ? &cp[0] : &cp[1], pe)) != 0)
        goto out;

    char sha_hex[65];
    tlo_hex(sha_hex, sha, 32);
    printf("OK: %s is the clip exported from case %s, session %s, %s to %s (the clip holds %s to "
           "%s), by %s at %s.\n"
           "  sha256    %s (%llu bytes), as the manifest and export entry %llu say\n"
           "  manifest  signed by the custodian %s\n"
           "  access    entry %llu granted this export (grant %s; purpose: %s)\n"
           "  ledger    both entries are in the checkpoint of %llu entries signed by the "
           "custodian%s\n"
           "  sources   %zu segment(s), %llu to %llu%s\n",
           clip, m.case_number, m.session, m.range[0], m.range[1], m.clip[0], m.clip[1], m.by, m.at,
           sha_hex, (unsigned long long)bytes, (unsigned long long)m.export_seq, v.name,
           (unsigned long long)m.access_seq, m.grant, m.purpose, (unsigned long long)cp[0].size,
           ch ? "; the vault's ledger matches it" : "", m.nseg, (unsigned long long)m.seg[0].index,
           (unsigned long long)m.seg[m.nseg - 1].index,
           ch ? ", each as its segment entry recorded" : "");
    if (m.watermark[0])
        printf("  watermark re-encoded with \"%s\" burned into every picture, as export entry "
               "%llu says\n",
               m.watermark, (unsigned long long)m.export_seq);
    rc = EXIT_OK;
out:
    tlo_chain_close(ch);
    free(m.seg);
    free(p[0]);
    free(p[1]);
    free(note);
    free(text);
    free(manifest_path);
    return rc;
}
