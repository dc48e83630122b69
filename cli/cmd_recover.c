/* tellonce recover — close sessions a crash or power cut left open.
 *
 * A session whose recording process died has no session-end entry, and its
 * last segment was never finished: a sealed object with no final chunk,
 * referenced by no entry. recover keeps the authenticated part of that
 * object, cut after its last complete MP4 fragment, seals it again as a
 * complete segment, logs it, and ends the session as recovered, saying what
 * was kept and what was lost. The unfinished object stays where it is. */
#include "cli.h"
#include "player.h"

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

typedef struct open_session {
    char id[33];
    uint8_t case_id[TLO_ID_BYTES];
    uint64_t segments;
    uint64_t end_ms;   /* where the last logged segment ends on the session clock */
    uint64_t wall0_ms; /* UTC ms at 0 on the session clock, from a logged segment; 0: unknown */
    int ended;
} open_session;

typedef struct scan {
    open_session *s;
    size_t n, cap;
    char **objects; /* object ids some entry names */
    size_t nobj, objcap;
} scan;

static int remember_object(scan *sc, const char *hex)
{
    if (sc->nobj == sc->objcap) {
        size_t cap = sc->objcap ? 2 * sc->objcap : 64;
        char **o = realloc(sc->objects, cap * sizeof *o);
        if (!o)
            return -1;
        sc->objects = o;
        sc->objcap = cap;
    }
    return (sc->objects[sc->nobj++] = strdup(hex)) ? 0 : -1;
}

static int scan_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    scan *sc = ctx;
    char id[40], obj[40];
    (void)leaf;
    (void)err;
    if ((e->kind == TLO_ENTRY_SEGMENT && tlo_entry_str(e, "object", obj, sizeof obj) == 0) ||
        (e->kind == TLO_ENTRY_CASE_OPEN && tlo_entry_str(e, "info_object", obj, sizeof obj) == 0))
        if (remember_object(sc, obj) != 0)
            return -1;
    /* Unfinished files an earlier recovery dealt with are named too. */
    char list[2048];
    if (e->kind == TLO_ENTRY_SESSION_RECOVERED &&
        tlo_entry_str(e, "unfinished", list, sizeof list) == 0)
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (strlen(t) == 32 && remember_object(sc, t) != 0)
                return -1;
    if (tlo_entry_str(e, "session", id, sizeof id) != 0)
        return 0;
    open_session *s = NULL;
    for (size_t i = 0; i < sc->n; i++)
        if (!strcmp(sc->s[i].id, id))
            s = &sc->s[i];
    if (e->kind == TLO_ENTRY_SESSION_START && !s) {
        if (sc->n == sc->cap) {
            size_t cap = sc->cap ? 2 * sc->cap : 8;
            open_session *n = realloc(sc->s, cap * sizeof *n);
            if (!n)
                return -1;
            sc->s = n;
            sc->cap = cap;
        }
        s = &sc->s[sc->n++];
        memset(s, 0, sizeof *s);
        snprintf(s->id, sizeof s->id, "%.32s", id);
        memcpy(s->case_id, e->case_id, TLO_ID_BYTES);
    } else if (s && e->kind == TLO_ENTRY_SEGMENT) {
        char end[24];
        s->segments++;
        char ws[24], st[24];
        if (tlo_entry_str(e, "end_ms", end, sizeof end) == 0)
            s->end_ms = strtoull(end, NULL, 10);
        if (!s->wall0_ms && tlo_entry_str(e, "wall_start_ms", ws, sizeof ws) == 0 &&
            tlo_entry_str(e, "start_ms", st, sizeof st) == 0 &&
            strtoull(ws, NULL, 10) >= strtoull(st, NULL, 10))
            s->wall0_ms = strtoull(ws, NULL, 10) - strtoull(st, NULL, 10);
    } else if (s && (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED)) {
        s->ended = 1;
    }
    return 0;
}

static int known_object(const scan *sc, const char *hex)
{
    for (size_t i = 0; i < sc->nobj; i++)
        if (!strcmp(sc->objects[i], hex))
            return 1;
    return 0;
}

/* The length of the longest prefix of p made of whole top-level MP4 boxes
 * ending with an mdat, and the number of moof boxes and trak boxes in it. */
static size_t whole_fragments(const uint8_t *p, size_t len, unsigned *moofs, unsigned *traks)
{
    size_t i = 0, keep = 0;
    *moofs = *traks = 0;
    unsigned moof_pending = 0;
    while (i + 8 <= len) {
        uint64_t sz =
            (uint64_t)p[i] << 24 | (uint64_t)p[i + 1] << 16 | (uint64_t)p[i + 2] << 8 | p[i + 3];
        if (sz == 1) {
            if (i + 16 > len)
                break;
            sz = 0;
            for (int k = 0; k < 8; k++)
                sz = sz << 8 | p[i + 8 + k];
        }
        if (sz < 8 || sz > len - i)
            break;
        if (!memcmp(p + i + 4, "moov", 4)) {
            /* count its trak children */
            size_t j = i + 8;
            while (j + 8 <= i + sz) {
                uint32_t csz = (uint32_t)p[j] << 24 | (uint32_t)p[j + 1] << 16 |
                               (uint32_t)p[j + 2] << 8 | p[j + 3];
                if (csz < 8 || csz > i + sz - j)
                    break;
                *traks += !memcmp(p + j + 4, "trak", 4);
                j += csz;
            }
        } else if (!memcmp(p + i + 4, "moof", 4)) {
            moof_pending++;
        } else if (!memcmp(p + i + 4, "mdat", 4)) {
            *moofs += moof_pending;
            moof_pending = 0;
            keep = i + sz;
        }
        i += sz;
    }
    return keep;
}

/* The length of the kept media, as libavformat reads it in memory. */
static uint64_t media_ms(const uint8_t *p, size_t len)
{
    tlo_player_probe probe;
    return tlo_player_probe_memory(p, len, &probe) == 0 ? probe.duration_ms : 0;
}

static void recover_usage(FILE *f)
{
    fprintf(f, "usage: tellonce recover --as NAME [--passphrase-file FILE] [--vault DIR]\n"
               "\n"
               "Closes every session that a crash or power cut left open: keeps the\n"
               "authenticated part of its unfinished segment (whole MP4 fragments only), seals\n"
               "it again as a complete segment, logs it, and ends the session as recovered,\n"
               "saying what was kept and lost. NAME must be an interviewer or an administrator;\n"
               "the access to the case key is logged first.\n");
}

int cmd_recover(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
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
        case 'h':
            recover_usage(stdout);
            return EXIT_OK;
        default:
            recover_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || !as) {
        cli_error("recover takes --as NAME; see 'tellonce recover --help'");
        return EXIT_USAGE;
    }
    char *vault = cli_vault_dir(vault_opt), *objects = NULL;
    cli_people pp = {0};
    scan sc = {0};
    tlo_vault_identity *actor = NULL, *cust = NULL;
    tlo_error err = {0};
    size_t open_count = 0;
    tlo_chain *ch = cli_open_ledger(vault, false, &rc);
    if (!ch || (rc = cli_people_load(ch, &pp)) != 0)
        goto out;
    if (tlo_chain_walk(ch, 0, scan_visit, &sc, &err) < 0) {
        rc = cli_fail(&err);
        goto out;
    }
    for (size_t i = 0; i < sc.n; i++)
        open_count += !sc.s[i].ended;
    if (open_count == 0) {
        printf("Every session in the vault is closed; there is nothing to recover.\n");
        rc = EXIT_OK;
        goto out;
    }
    if (!(actor =
              cli_unlock_acting(vault, as, pass_file, &pp, TLO_ROLE_INTERVIEWER | TLO_ROLE_ADMIN,
                                "interviewer or administrator", &rc)))
        goto out;
    tlo_chain_signer signer = {.sk = actor->sign_sk};
    memcpy(signer.pk, actor->sign_pk, 32);
    objects = tlo_path_join(vault, "objects");
    rc = EXIT_OK;

    for (size_t i = 0; i < sc.n && rc == EXIT_OK; i++) {
        open_session *s = &sc.s[i];
        if (s->ended)
            continue;
        char body[3000], case_hex[33], unfinished[2048] = "";
        uint64_t seq, kept_bytes = 0, lost_bytes = 0, recovered = 0, kept_ms = 0;
        tlo_hex(case_hex, s->case_id, TLO_ID_BYTES);
        tlo_chain_draft d = {.has_case = true, .body = (const uint8_t *)body};
        memcpy(d.case_id, s->case_id, TLO_ID_BYTES);

        /* Log before release: the access to the case key comes first. */
        snprintf(body, sizeof body,
                 "action=recover\npurpose=close interrupted session\nsession=%s\n", s->id);
        d.kind = TLO_ENTRY_ACCESS_GRANTED;
        d.body_len = strlen(body);
        if (tlo_chain_append(ch, &d, 1, &signer, &seq, &err) != 0) {
            rc = cli_fail(&err);
            break;
        }
        cli_case cs = {.opened_at = 0};
        memcpy(cs.id, s->case_id, TLO_ID_BYTES);
        snprintf(cs.number, sizeof cs.number, "%s", case_hex);
        uint8_t *key = NULL;
        if (!cust)
            cust = cli_unlock_custodian(vault);
        if (!cust || !(key = cli_case_key(vault, &cs, cust))) {
            rc = EXIT_BAD_DATA;
            break;
        }

        /* Unfinished segment objects of this case that no entry names. */
        DIR *dir = opendir(objects);
        struct dirent *de;
        while (dir && rc == EXIT_OK && (de = readdir(dir))) {
            size_t n = strlen(de->d_name);
            char hex[33];
            if (n != 36 || strcmp(de->d_name + 32, ".tlo"))
                continue;
            memcpy(hex, de->d_name, 32);
            hex[32] = '\0';
            if (known_object(&sc, hex))
                continue;
            char *path = tlo_path_join(objects, de->d_name);
            int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
            struct stat st;
            tlo_vault_inspection ins;
            if (fd < 0 || fstat(fd, &st) != 0 ||
                tlo_vault_inspect(tlo_vault_fd_source, &fd, (uint64_t)st.st_size, path, &ins,
                                  &err) != 0 ||
                ins.header.kind != TLO_KIND_SEGMENT ||
                memcmp(ins.header.case_id, s->case_id, TLO_ID_BYTES) != 0) {
                if (fd >= 0)
                    close(fd);
                free(path);
                continue;
            }
            tlo_vault_reader *r = tlo_vault_reader_open_prefix(
                tlo_vault_fd_source, &fd, (uint64_t)st.st_size, key, path, &err);
            uint8_t *pt = NULL;
            size_t plen = r ? (size_t)tlo_vault_reader_size(r) : 0;
            if (r && plen && (pt = malloc(plen)) &&
                tlo_vault_reader_read_at(r, 0, pt, plen, &err) != 0) {
                free(pt);
                pt = NULL;
            }
            tlo_vault_reader_free(r);
            close(fd);
            unsigned moofs = 0, traks = 0;
            size_t keep = pt ? whole_fragments(pt, plen, &moofs, &traks) : 0;
            lost_bytes += (uint64_t)st.st_size; /* the unfinished file, as found */
            if (strlen(unfinished) + 34 < sizeof unfinished) {
                if (unfinished[0])
                    strcat(unfinished, ",");
                strcat(unfinished, hex);
            }
            if (keep && moofs && traks) {
                /* Seal the whole fragments again, as a complete segment. */
                tlo_vault_object_params op = {.kind = TLO_KIND_SEGMENT, .chunk_log2 = 14};
                tlo_vault_digests dg;
                char nhex[33], name[64];
                memcpy(op.case_id, s->case_id, TLO_ID_BYTES);
                tlo_vault_random_id(op.object_id);
                tlo_hex(nhex, op.object_id, TLO_ID_BYTES);
                snprintf(name, sizeof name, "%s.tlo", nhex);
                char *npath = tlo_path_join(objects, name);
                int nfd = npath ? open(npath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
                tlo_vault_writer *w =
                    nfd >= 0 ? tlo_vault_writer_new(&op, key, tlo_vault_fd_sink, &nfd, &err) : NULL;
                if (!w || tlo_vault_writer_write(w, pt, keep, &err) != 0 ||
                    tlo_vault_writer_finish(w, &dg, &err) != 0 || fsync(nfd) != 0) {
                    cli_error("cannot seal the recovered part of %s: %s", path,
                              err.msg[0] ? err.msg : strerror(errno));
                    rc = EXIT_SYSTEM;
                } else {
                    char pts[65], cts[65];
                    tlo_hex(pts, dg.plaintext_sha256, 32);
                    tlo_hex(cts, dg.ciphertext_sha256, 32);
                    uint64_t ms = media_ms(pt, keep);
                    /* Its wall-clock start when an earlier segment tells
                     * where the session clock's zero lies; sealed now. */
                    char wall[80] = "";
                    struct timespec now;
                    clock_gettime(CLOCK_REALTIME, &now);
                    if (s->wall0_ms)
                        snprintf(wall, sizeof wall, "wall_end_ms=%llu\nwall_start_ms=%llu\n",
                                 (unsigned long long)now.tv_sec * 1000ull +
                                     (unsigned long long)now.tv_nsec / 1000000ull,
                                 (unsigned long long)(s->wall0_ms + s->end_ms));
                    snprintf(body, sizeof body,
                             "bytes=%llu\nciphertext_sha256=%s\nduration_ms=%llu\nend_ms=%llu\n"
                             "index=%llu\nobject=%s\nplaintext_bytes=%llu\nplaintext_sha256=%s\n"
                             "recovered_from=%s\nrecovered_ms=%llu\nsession=%s\nstart_ms=%llu\n"
                             "%s",
                             (unsigned long long)dg.ciphertext_bytes, cts, (unsigned long long)ms,
                             (unsigned long long)(s->end_ms + ms), (unsigned long long)s->segments,
                             nhex, (unsigned long long)dg.plaintext_bytes, pts, hex,
                             (unsigned long long)ms, s->id, (unsigned long long)s->end_ms, wall);
                    d.kind = TLO_ENTRY_SEGMENT;
                    d.body_len = strlen(body);
                    if (tlo_chain_append(ch, &d, 1, &signer, &seq, &err) != 0) {
                        rc = cli_fail(&err);
                    } else {
                        s->segments++;
                        s->end_ms += ms; /* the next one starts here */
                        recovered++;
                        kept_bytes += keep;
                        kept_ms += ms;
                        printf("Recovered %.1f s of session %s from %s: sealed again as segment "
                               "%llu (entry %llu).\n",
                               (double)ms / 1000, s->id, de->d_name,
                               (unsigned long long)(s->segments - 1), (unsigned long long)seq);
                    }
                }
                tlo_vault_writer_free(w);
                if (nfd >= 0)
                    close(nfd);
                free(npath);
            }
            if (pt)
                sodium_memzero(pt, plen);
            free(pt);
            free(path);
        }
        if (dir)
            closedir(dir);
        tlo_vault_key_free(key);
        if (rc != EXIT_OK)
            break;
        snprintf(body, sizeof body,
                 "kept_bytes=%llu\nrecovered_ms=%llu\nrecovered_segments=%llu\nsegments=%llu\n"
                 "session=%s\nstatus=recovered\nunfinished=%s\nunfinished_bytes=%llu\n",
                 (unsigned long long)kept_bytes, (unsigned long long)kept_ms,
                 (unsigned long long)recovered, (unsigned long long)s->segments, s->id, unfinished,
                 (unsigned long long)lost_bytes);
        d.kind = TLO_ENTRY_SESSION_RECOVERED;
        d.body_len = strlen(body);
        if (tlo_chain_append(ch, &d, 1, &signer, &seq, &err) != 0) {
            rc = cli_fail(&err);
            break;
        }
        printf("Session %s (case %s) is closed as recovered in entry %llu: %llu segments in all; "
               "of the unfinished segment file (%llu bytes sealed) %llu bytes of whole fragments "
               "were kept; what had not been sealed when the recording stopped is lost.\n",
               s->id, case_hex, (unsigned long long)seq, (unsigned long long)s->segments,
               (unsigned long long)lost_bytes, (unsigned long long)kept_bytes);
    }
    if (rc == EXIT_OK)
        rc = cli_checkpoint_write(vault, ch, NULL, false);
out:
    for (size_t i = 0; i < sc.nobj; i++)
        free(sc.objects[i]);
    free(sc.objects);
    free(sc.s);
    tlo_vault_identity_free(actor);
    tlo_vault_identity_free(cust);
    cli_people_free(&pp);
    tlo_chain_close(ch);
    free(objects);
    free(vault);
    return rc;
}
