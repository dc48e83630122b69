/* tellonce record — record one interview session of a case.
 *
 * Order matters: the session-start entry is durable before the custodian
 * releases the case key (G3); each segment is sealed and fsynced before its
 * entry is appended (G2); the session-end entry and a checkpoint close it. */
#include "capture.h"
#include "cli.h"

#include <getopt.h>
#include <gst/gst.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void record_usage(FILE *f)
{
    fprintf(f, "usage: tellonce record CASE --as NAME [--room simulated] [--duration SECONDS]\n"
               "                       [--cameras N] [--segment SECONDS] [--passphrase-file FILE]\n"
               "                       [--vault DIR]\n"
               "\n"
               "Records one continuous session of CASE in the room (today: the built-in\n"
               "simulated room of test-pattern cameras and a tone) until --duration, Ctrl-C or\n"
               "SIGTERM. Every segment (about --segment seconds, default 4) is sealed as it is\n"
               "recorded and logged; the session's start and end are signed entries, and a\n"
               "checkpoint is written at the end. NAME must be an interviewer.\n"
               "--no-live runs the simulated room as fast as the machine can (tests only).\n");
}

typedef struct session {
    tlo_chain *chain;
    tlo_chain_signer signer;
    cli_case cs;
    char session_hex[2 * TLO_ID_BYTES + 1];
    pthread_mutex_t lock;
    uint64_t segments, bytes, first_seq;
    uint64_t max_delay_ms;
    int tty;
} session;

static tlo_capture *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        tlo_capture_stop(running); /* only sets a flag */
}

static int append(session *s, uint16_t kind, const char *body, uint64_t *seq, tlo_error *err)
{
    tlo_chain_draft d = {
        .kind = kind, .has_case = true, .body = (const uint8_t *)body, .body_len = strlen(body)};
    memcpy(d.case_id, s->cs.id, TLO_ID_BYTES);
    return tlo_chain_append(s->chain, &d, 1, &s->signer, seq, err);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A segment is sealed and durable: log it. */
static int on_segment(void *ctx, const tlo_capture_segment *seg, tlo_error *err)
{
    session *s = ctx;
    char obj[33], pt[65], ct[65], body[700];
    uint64_t seq;
    tlo_hex(obj, seg->object_id, TLO_ID_BYTES);
    tlo_hex(pt, seg->digests.plaintext_sha256, 32);
    tlo_hex(ct, seg->digests.ciphertext_sha256, 32);
    snprintf(body, sizeof body,
             "bytes=%llu\nciphertext_sha256=%s\nindex=%llu\nobject=%s\nplaintext_bytes=%llu\n"
             "plaintext_sha256=%s\nsession=%s\nwall_end_ms=%llu\nwall_start_ms=%llu\n",
             (unsigned long long)seg->digests.ciphertext_bytes, ct, (unsigned long long)seg->index,
             obj, (unsigned long long)seg->digests.plaintext_bytes, pt, s->session_hex,
             (unsigned long long)seg->wall_end_ms, (unsigned long long)seg->wall_start_ms);
    pthread_mutex_lock(&s->lock);
    int rc = append(s, TLO_ENTRY_SEGMENT, body, &seq, err);
    if (rc == 0) {
        uint64_t delay = now_ms() - seg->wall_end_ms;
        s->segments++;
        s->bytes += seg->digests.ciphertext_bytes;
        if (delay > s->max_delay_ms)
            s->max_delay_ms = delay;
        fprintf(stderr, "  segment %llu sealed: %.1f MB, logged as entry %llu\n",
                (unsigned long long)seg->index, (double)seg->digests.ciphertext_bytes / 1e6,
                (unsigned long long)seq);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int cmd_record(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"room", required_argument, NULL, 'r'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"cameras", required_argument, NULL, 'c'},
                                         {"segment", required_argument, NULL, 's'},
                                         {"no-live", no_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *room = "simulated";
    uint64_t duration = 0, cameras = 2, segment = 4;
    int c, live = 1, rc;
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
        case 'r':
            room = optarg;
            break;
        case 'd':
        case 'c':
        case 's': {
            uint64_t v;
            if (cli_parse_u64(optarg, &v) != 0 || v == 0 || v > 86400 || (c == 'c' && v > 4) ||
                (c == 's' && v > 60)) {
                cli_error("--%s takes a number (cameras 1-4, segment 1-60 s, duration up to a "
                          "day)",
                          c == 'd'   ? "duration"
                          : c == 'c' ? "cameras"
                                     : "segment");
                return EXIT_USAGE;
            }
            *(c == 'd' ? &duration : c == 'c' ? &cameras : &segment) = v;
            break;
        }
        case 'L':
            live = 0;
            break;
        case 'h':
            record_usage(stdout);
            return EXIT_OK;
        default:
            record_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !as) {
        cli_error("record takes CASE and --as NAME; see 'tellonce record --help'");
        return EXIT_USAGE;
    }
    if (strcmp(room, "simulated") != 0) {
        cli_error("only the built-in 'simulated' room exists yet; room profiles are not built");
        return EXIT_USAGE;
    }
    if (!live && !duration) {
        cli_error("--no-live needs --duration");
        return EXIT_USAGE;
    }
    const char *number = argv[optind];
    char *vault = cli_vault_dir(vault_opt), *objects = NULL;
    cli_people pp = {0};
    session s = {.first_seq = 0};
    tlo_vault_identity *actor = NULL, *cust = NULL;
    uint8_t *key = NULL, session_id[TLO_ID_BYTES];
    tlo_capture *cap = NULL;
    tlo_error err = {0};
    char body[600];
    int started = 0;
    pthread_mutex_init(&s.lock, NULL);

    s.chain = cli_open_ledger(vault, false, &rc);
    if (!s.chain || (rc = cli_people_load(s.chain, &pp)) != 0 ||
        (rc = cli_case_find(s.chain, number, &s.cs, false)) != 0)
        goto out;
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp, TLO_ROLE_INTERVIEWER,
                                    "interviewer (only interviewers record)", &rc)))
        goto out;
    s.signer.sk = actor->sign_sk;
    memcpy(s.signer.pk, actor->sign_pk, 32);
    objects = cli_path(vault, "objects");
    if (mkdir(objects, 0700) != 0 && access(objects, W_OK) != 0) {
        cli_error("cannot use %s", objects);
        rc = EXIT_SYSTEM;
        goto out;
    }

    /* 1. The session starts in the ledger, durably, before any key moves. */
    tlo_vault_random_id(session_id);
    tlo_hex(s.session_hex, session_id, TLO_ID_BYTES);
    snprintf(body, sizeof body,
             "cameras=%llu\nmicrophones=1\nroom=simulated\nsegment_seconds=%llu\nsession=%s\n",
             (unsigned long long)cameras, (unsigned long long)segment, s.session_hex);
    if (append(&s, TLO_ENTRY_SESSION_START, body, &s.first_seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    started = 1;
    /* 2. Only now does the custodian release the case key. */
    if (!(cust = cli_unlock_custodian(vault)) || !(key = cli_case_key(vault, &s.cs, cust))) {
        rc = EXIT_BAD_DATA;
        goto end;
    }
    tlo_vault_identity_free(cust);
    cust = NULL;

    /* 3. Record. */
    gst_init(NULL, NULL);
    tlo_capture_config cfg = {.cameras = (unsigned)cameras,
                              .width = 640,
                              .height = 360,
                              .fps = 25,
                              .segment_seconds = (unsigned)segment,
                              .duration_seconds = (unsigned)duration,
                              .live = live,
                              .objects_dir = objects};
    memcpy(cfg.case_id, s.cs.id, TLO_ID_BYTES);
    if (!(cap = tlo_capture_new(&cfg, key, on_segment, &s, &err))) {
        rc = cli_fail(&err);
        goto end;
    }
    fprintf(stderr, "Recording case %s, session %s, in the simulated room (%llu cameras)%s\n",
            number, s.session_hex, (unsigned long long)cameras,
            duration ? "" : "; Ctrl-C ends the session");
    running = cap;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    uint64_t t0 = now_ms();
    rc = tlo_capture_run(cap, &err) == 0 ? EXIT_OK : cli_fail(&err);
    running = NULL;
    uint64_t elapsed = now_ms() - t0;

end:
    /* 4. The session ends in the ledger whatever happened, then a checkpoint. */
    if (started) {
        snprintf(body, sizeof body,
                 "bytes=%llu\nelapsed_ms=%llu\nmedia_ms=%llu\nsegments=%llu\nsession=%s\n"
                 "status=%s\n",
                 (unsigned long long)s.bytes, (unsigned long long)(cap ? elapsed : 0),
                 (unsigned long long)(cap ? tlo_capture_media_ns(cap) / 1000000 : 0),
                 (unsigned long long)s.segments, s.session_hex, rc == EXIT_OK ? "ended" : "failed");
        uint64_t seq;
        tlo_error e2 = {0};
        if (append(&s, TLO_ENTRY_SESSION_END, body, &seq, &e2) != 0) {
            cli_fail(&e2);
            rc = rc ? rc : EXIT_SYSTEM;
        } else {
            printf("Session %s of case %s: %llu segments, %.1f MB sealed; entries %llu to %llu "
                   "(the longest wait from a sealed segment to its entry: %llu ms).\n",
                   s.session_hex, number, (unsigned long long)s.segments, (double)s.bytes / 1e6,
                   (unsigned long long)s.first_seq, (unsigned long long)seq,
                   (unsigned long long)s.max_delay_ms);
            int crc = cli_checkpoint_write(vault, s.chain, NULL, false);
            if (crc && !rc)
                rc = crc;
        }
    }
out:
    tlo_capture_free(cap);
    tlo_vault_key_free(key);
    tlo_vault_identity_free(actor);
    tlo_vault_identity_free(cust);
    cli_people_free(&pp);
    tlo_chain_close(s.chain);
    pthread_mutex_destroy(&s.lock);
    free(objects);
    free(vault);
    return rc;
}
