/* --layout (layout.h). */
#include "layout.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "player.h"
#include "tlo_time.h"

int tlo_layout_parse(const char *text, tlo_layout *out)
{
    *out = (tlo_layout){TLO_LAYOUT_SIDE_BY_SIDE, 0};
    if (!text)
        return -1;
    if (!strcmp(text, "side-by-side"))
        return 0;
    if (!strcmp(text, "pip")) {
        out->kind = TLO_LAYOUT_PIP;
        return 0;
    }
    const char *d = !strncmp(text, "camera ", 7)  ? text + 7
                    : !strncmp(text, "camera", 6) ? text + 6
                    : !strncmp(text, "cam", 3)    ? text + 3
                                                  : text;
    if (strlen(d) != 1 || d[0] < '1' || d[0] > '0' + TLO_PLAYER_MAX_TRACKS)
        return -1;
    out->kind = TLO_LAYOUT_CAMERA;
    out->camera = (unsigned)(d[0] - '0');
    return 0;
}

void tlo_layout_text(const tlo_layout *l, char *out, size_t cap)
{
    if (l->kind == TLO_LAYOUT_PIP)
        snprintf(out, cap, "pip");
    else if (l->kind == TLO_LAYOUT_CAMERA)
        snprintf(out, cap, "cam%u", l->camera);
    else
        snprintf(out, cap, "side-by-side");
}

void tlo_layout_clock_text(uint64_t started_ms, uint64_t session_ms, char *out, size_t cap)
{
    char when[TLO_TIME_TEXT_MAX] = "";
    if (started_ms) /* the display zone: the vault's (tlo_time.h), not the system's */
        tlo_time_text(started_ms + session_ms, when, sizeof when);
    snprintf(out, cap, "%02llu:%02llu:%02llu   %s", (unsigned long long)(session_ms / 3600000),
             (unsigned long long)(session_ms / 60000 % 60),
             (unsigned long long)(session_ms / 1000 % 60), when);
}

void tlo_layout_clock_shown(const char *text)
{
    static atomic_flag done = ATOMIC_FLAG_INIT;
    const char *path = getenv("TELLONCE_TEST_PIP_CLOCK");
    if (!path || !*path || atomic_flag_test_and_set(&done))
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
        n = 0; /* a test hook: the test sees what is missing */
    close(fd);
}

tlo_layout tlo_layout_next(const tlo_layout *l, unsigned cameras)
{
    if (l->kind == TLO_LAYOUT_SIDE_BY_SIDE)
        return cameras >= 2 ? (tlo_layout){TLO_LAYOUT_PIP, 0} : (tlo_layout){TLO_LAYOUT_CAMERA, 1};
    if (l->kind == TLO_LAYOUT_PIP)
        return (tlo_layout){TLO_LAYOUT_CAMERA, 1};
    if (l->camera < cameras)
        return (tlo_layout){TLO_LAYOUT_CAMERA, l->camera + 1};
    return (tlo_layout){TLO_LAYOUT_SIDE_BY_SIDE, 0};
}
