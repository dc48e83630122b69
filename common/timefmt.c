/* Times for people in the display zone: see tlo_time.h. */
#include "tlo_time.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define ZONEINFO "/usr/share/zoneinfo/"

static GMutex zone_lock;
static GTimeZone *zone; /* NULL: the system's local zone */
static char zone_id[TLO_TIME_ZONE_MAX + 1];

bool tlo_time_zone_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > TLO_TIME_ZONE_MAX || name[0] == '/' || name[n - 1] == '/' ||
        strstr(name, "..") || strstr(name, "//") || !strcmp(name, "localtime") ||
        !strcmp(name, "posixrules"))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '/' || c == '-'))
            return false;
    }
    char path[sizeof ZONEINFO + TLO_TIME_ZONE_MAX];
    snprintf(path, sizeof path, "%s%s", ZONEINFO, name);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return false;
    char magic[4];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool tzif = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
    fclose(f);
    if (!tzif)
        return false;
    GTimeZone *tz = g_time_zone_new_identifier(name);
    if (!tz)
        return false;
    g_time_zone_unref(tz);
    return true;
}

int tlo_time_set_zone(const char *name)
{
    GTimeZone *tz = NULL;
    if (name && *name) {
        if (!tlo_time_zone_valid(name) || !(tz = g_time_zone_new_identifier(name)))
            return -1;
    }
    g_mutex_lock(&zone_lock);
    GTimeZone *old = zone;
    zone = tz;
    snprintf(zone_id, sizeof zone_id, "%s", tz ? name : "");
    g_mutex_unlock(&zone_lock);
    if (old)
        g_time_zone_unref(old);
    return 0;
}

/* The display zone, referenced (g_time_zone_unref it). */
static GTimeZone *display_zone(void)
{
    g_mutex_lock(&zone_lock);
    GTimeZone *tz = zone ? g_time_zone_ref(zone) : NULL;
    g_mutex_unlock(&zone_lock);
    return tz ? tz : g_time_zone_new_local();
}

void tlo_time_zone_name(char *out, size_t cap, bool *is_system)
{
    g_mutex_lock(&zone_lock);
    bool sys = zone == NULL;
    if (!sys)
        snprintf(out, cap, "%s", zone_id);
    g_mutex_unlock(&zone_lock);
    if (sys) {
        GTimeZone *tz = g_time_zone_new_local();
        const char *id = g_time_zone_get_identifier(tz);
        snprintf(out, cap, "%s", id && *id ? id : "local");
        g_time_zone_unref(tz);
    }
    if (is_system)
        *is_system = sys;
}

/* ms in the display zone (g_date_time_unref it), or NULL past year 9999. */
static GDateTime *local_at(uint64_t ms)
{
    if (ms / 1000 > (uint64_t)G_MAXINT64)
        return NULL;
    GDateTime *utc = g_date_time_new_from_unix_utc((gint64)(ms / 1000));
    if (!utc)
        return NULL;
    GTimeZone *tz = display_zone();
    GDateTime *dt = g_date_time_to_timezone(utc, tz);
    g_time_zone_unref(tz);
    g_date_time_unref(utc);
    return dt;
}

static void format_at(uint64_t ms, const char *fmt, char *out, size_t cap)
{
    if (!cap)
        return;
    GDateTime *dt = local_at(ms);
    char *s = dt ? g_date_time_format(dt, fmt) : NULL;
    if (s)
        snprintf(out, cap, "%s", s);
    else
        snprintf(out, cap, "(time %llu ms)", (unsigned long long)ms);
    g_free(s);
    if (dt)
        g_date_time_unref(dt);
}

void tlo_time_text(uint64_t ms, char *out, size_t cap)
{
    format_at(ms, "%Y-%m-%d %H:%M:%S %:z", out, cap);
}

void tlo_time_text_ms(uint64_t ms, char *out, size_t cap)
{
    char fmt[40];
    /* GLib's %f is microseconds; the ms are written in the format itself. */
    snprintf(fmt, sizeof fmt, "%%Y-%%m-%%d %%H:%%M:%%S.%03u %%:z", (unsigned)(ms % 1000));
    format_at(ms, fmt, out, cap);
}

void tlo_time_clock_text(uint64_t ms, char *out, size_t cap)
{
    format_at(ms, "%H:%M:%S", out, cap);
}

void tlo_time_offset_text(uint64_t ms, char *out, size_t cap)
{
    format_at(ms, "%:z", out, cap);
}

/* n decimal digits at s into *v: true, or false if any is not a digit. */
static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

int tlo_time_parse_local(const char *text, uint64_t *ms, bool *whole_day)
{
    int y, mo, d, h = 0, mi = 0;
    size_t n = text ? strlen(text) : 0;
    if ((n != 10 && n != 16) || !digits(text, 4, &y) || text[4] != '-' ||
        !digits(text + 5, 2, &mo) || text[7] != '-' || !digits(text + 8, 2, &d))
        return -1;
    if (n == 16 && (text[10] != ' ' || !digits(text + 11, 2, &h) || text[13] != ':' ||
                    !digits(text + 14, 2, &mi) || h > 23 || mi > 59))
        return -1;
    if (y < 1970 || !g_date_valid_dmy((GDateDay)d, (GDateMonth)mo, (GDateYear)y))
        return -1;
    GTimeZone *tz = display_zone();
    GDateTime *dt = g_date_time_new(tz, y, mo, d, n == 10 ? 0 : h, n == 10 ? 0 : mi, 0);
    g_time_zone_unref(tz);
    if (!dt)
        return -1;
    if (n == 10) {
        /* The start of the next day, less one ms: 23:59:59.999 even on a
         * day that a change of offset makes 23 or 25 hours long. */
        GDateTime *next = g_date_time_add_days(dt, 1);
        g_date_time_unref(dt);
        if (!next)
            return -1;
        dt = next;
    }
    gint64 s = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    if (s <= 0)
        return -1;
    *ms = (uint64_t)s * 1000 - (n == 10 ? 1 : 0);
    if (whole_day)
        *whole_day = n == 10;
    return 0;
}
