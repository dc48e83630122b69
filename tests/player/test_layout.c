/* player: pip's burned-in clock (layout.h). pip_clock_vault_zone: under
 * TZ=UTC, with the display zone set to the vault's Asia/Shanghai, the date
 * and time burned into a pip picture are Shanghai's with +08:00 (before,
 * the system's zone: 14:40:05 +00:00); with no zone set, the system's. */
#include "layout.h"
#include "testutil.h"
#include "tlo_time.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    char text[128];
    /* 2025-12-01 14:40:00 UTC, 5 s into the session */
    const uint64_t started = 1764600000000ULL, at = 5000;
    setenv("TZ", "UTC", 1);
    CHECK(tlo_time_set_zone(NULL) == 0);
    tlo_layout_clock_text(started, at, text, sizeof text);
    CHECK_MSG(!strcmp(text, "00:00:05   2025-12-01 14:40:05 +00:00"), "system zone: %s", text);
    CHECK(tlo_time_set_zone("Asia/Shanghai") == 0);
    tlo_layout_clock_text(started, at, text, sizeof text);
    CHECK_MSG(!strcmp(text, "00:00:05   2025-12-01 22:40:05 +08:00"), "vault zone: %s", text);
    /* No start known: the session clock alone. */
    tlo_layout_clock_text(0, 3723000, text, sizeof text);
    CHECK_MSG(!strncmp(text, "01:02:03", 8), "no start: %s", text);
    return tu_finish("layout");
}
