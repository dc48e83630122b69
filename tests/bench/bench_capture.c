/* bench_capture: the recording pipeline of tellonce record, writing plain
 * MP4 files with filesink instead of sealing them: the baseline of
 * bench_record.sh. Built from the same capture/ code, so the two pipelines
 * are identical but for where the muxer's bytes go.
 * usage: bench_capture [--no-live] DIR SECONDS [ROOM] */
#include "capture.h"

#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    tlo_error err = {0};
    bool live = true;
    if (argc > 1 && !strcmp(argv[1], "--no-live")) {
        live = false;
        argv++;
        argc--;
    }
    if (argc < 3 || argc > 4 || atoi(argv[2]) <= 0) {
        fprintf(stderr, "usage: bench_capture [--no-live] DIR SECONDS [ROOM]\n");
        return 2;
    }
    gst_init(&argc, &argv);
    if (tlo_vault_init(&err) != 0) {
        fprintf(stderr, "bench_capture: %s\n", err.msg);
        return 1;
    }
    tlo_capture_config cfg = {.duration_seconds = (unsigned)atoi(argv[2]),
                              .live = live,
                              .objects_dir = argv[1],
                              .bench_plain_dir = argv[1]};
    if (tlo_hw_room_resolve(argc == 4 ? argv[3] : "simulated", &cfg.room, &err) != 0) {
        fprintf(stderr, "bench_capture: %s\n", err.msg);
        return 1;
    }
    uint8_t *key = tlo_vault_key_generate(); /* unused: nothing is sealed */
    tlo_capture *c = tlo_capture_new(&cfg, key, NULL, NULL, NULL, &err);
    int rc = c && tlo_capture_run(c, &err) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "bench_capture: %s\n", err.msg);
    tlo_capture_free(c);
    tlo_vault_key_free(key);
    return rc;
}
