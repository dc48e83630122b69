/* The client's part of a command run by the custodian service: what the
 * service sent in DATA frames (remote.c). play shows the released clip
 * here, on this user's screen: the frames carry the hand-over's text
 * (player/handover.h), cut between segments, and each its segments' files,
 * open read-only; this process never opens a path of the vault. */
#include "cli.h"
#include "handover.h"
#include "proto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* play: the frames' text, joined in secure memory (it holds keys; the
 * frames' copies are wiped), and their fds in order. */
static int play_part(struct tlo_svc_frame *frames, size_t n, int argc, char **argv)
{
    size_t len = 0, nfds = 0;
    for (size_t i = 0; i < n; i++) {
        if (frames[i].type != TLO_SVC_DATA || len + frames[i].len > TLO_PLAY_HANDOVER_MAX_BYTES) {
            cli_error("the custodian service sent play a hand-over that is not one (frame %zu); "
                      "nothing was shown: run play again",
                      i);
            return EXIT_BAD_DATA;
        }
        len += frames[i].len;
        nfds += frames[i].nfds;
    }
    char *text = sodium_malloc(len + 1);
    int *fds = calloc(nfds ? nfds : 1, sizeof *fds);
    int rc = EXIT_SYSTEM;
    if (text && fds) {
        size_t at = 0, k = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(text + at, frames[i].data, frames[i].len);
            sodium_memzero(frames[i].data, frames[i].len);
            at += frames[i].len;
            for (size_t j = 0; j < frames[i].nfds; j++)
                fds[k++] = frames[i].fds[j];
        }
        text[len] = '\0';
        rc = cli_play_client(text, len, fds, nfds, argc, argv);
    } else {
        cli_error("out of memory (or locked memory) for the clip's hand-over");
    }
    if (text)
        sodium_free(text);
    free(fds);
    return rc;
}

int cli_remote_client_part(int argc, char **argv, struct tlo_svc_frame *frames, size_t n)
{
    if (!strcmp(argv[0], "play"))
        return play_part(frames, n, argc, argv);
    cli_error("'tellonce %s' sent data this client does not use; nothing was done with it",
              argv[0]);
    return EXIT_SYSTEM;
}
