/* tellonce — times for people: local, with the offset, in one display zone.
 *
 * Every time a person reads is "2026-12-01 22:40:05 +08:00": the wall clock
 * of the display zone and its offset from UTC at that instant, so a time is
 * never ambiguous whatever zone the reader is in. The display zone is the
 * vault's `timezone` setting when the front end set it (tlo_time_set_zone,
 * once after opening the vault), else the system's local zone ($TZ, else
 * /etc/localtime). Machine formats (JSON, manifests) keep UTC or ms.
 *
 * Thread-safe: the zone is a GLib GTimeZone taken under a lock; nothing
 * calls setenv("TZ") or tzset(). */
#ifndef TLO_TIME_H
#define TLO_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for tlo_time_text. */
#define TLO_TIME_TEXT_MAX 40
/* The longest zone name tlo_time_zone_valid accepts. */
#define TLO_TIME_ZONE_MAX 64

/* True when name is an IANA zone this machine has: 1..64 characters of
 * [A-Za-z0-9_+/-], no "..", no leading or doubled '/', a regular file
 * /usr/share/zoneinfo/NAME that starts as a TZif file does, and a zone
 * GLib reads. "localtime" and "posixrules" are not names of zones. */
bool tlo_time_zone_valid(const char *name);

/* Makes name the display zone (NULL or "": the system's local zone).
 * 0, or -1 when name is not valid (the zone is then unchanged). */
int tlo_time_set_zone(const char *name);

/* The display zone's name ("Asia/Shanghai"; for the system's zone what
 * GLib calls it, e.g. "UTC" or the value of $TZ), and whether it is the
 * system's. */
void tlo_time_zone_name(char *out, size_t cap, bool *is_system);

/* ms (UTC milliseconds since 1970) as "YYYY-MM-DD HH:MM:SS +HH:MM" in the
 * display zone. Times GLib cannot show (after 9999) as "(time N ms)".
 * Always NUL-terminates when cap > 0. */
void tlo_time_text(uint64_t ms, char *out, size_t cap);

/* The same with milliseconds: "YYYY-MM-DD HH:MM:SS.mmm +HH:MM" (the log). */
void tlo_time_text_ms(uint64_t ms, char *out, size_t cap);

/* The wall clock alone, "HH:MM:SS", in the display zone (a status line
 * whose date and zone are said elsewhere). */
void tlo_time_clock_text(uint64_t ms, char *out, size_t cap);

/* The offset alone ("+08:00") of the display zone at ms. */
void tlo_time_offset_text(uint64_t ms, char *out, size_t cap);

/* Parses a time a person typed, in the display zone: "YYYY-MM-DD" is the
 * last millisecond of that day (23:59:59.999, *whole_day true);
 * "YYYY-MM-DD HH:MM" that minute (HH:MM:00.000). 0 with *ms (UTC), or -1
 * when text is neither or not a real date and time. */
int tlo_time_parse_local(const char *text, uint64_t *ms, bool *whole_day);

#endif
