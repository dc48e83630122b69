/* The client's part of a command run by the custodian service: what the
 * service sent in DATA frames (remote.c). play shows the released clip
 * here, on this user's screen. */
#include "cli.h"
#include "proto.h"

int cli_remote_client_part(int argc, char **argv, struct tlo_svc_frame *frames, size_t n)
{
    (void)argc;
    (void)frames;
    (void)n;
    cli_error("'tellonce %s' sent data this client does not use yet", argv[0]);
    return EXIT_SYSTEM;
}
