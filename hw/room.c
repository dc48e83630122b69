/* Room profiles: the built-in simulated room, the key-file parser, the
 * canonical text and its digest; and the simulated room's speech.
 *
 * A profile is hostile input (a file anyone could have edited): it is read
 * with a size bound, every group and key must be one we know, nothing may
 * appear twice, and every value is range-checked before it reaches the
 * struct. docs/rooms.md is the reference for the format. */
#include "hw.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* videotestsrc's patterns in GStreamer 1.22, by nickname, each between
 * spaces (the test checks the list against the element). */
static const char test_patterns[] =
    " smpte snow black white red green blue checkers-1 checkers-2 checkers-4 checkers-8 circular"
    " blink smpte75 zone-plate gamut chroma-zone-plate solid-color ball smpte100 bar pinwheel"
    " spokes gradient colors smpte-rp-219 ";

static const char *const encoder_names[] = {"auto", "x264", "vaapi", "nvenc"};

const char *tlo_hw_encoder_name(tlo_hw_encoder enc)
{
    if ((unsigned)enc < sizeof encoder_names / sizeof encoder_names[0])
        return encoder_names[enc];
    return "invalid";
}

static bool test_pattern_known(const char *name)
{
    char word[40];
    size_t n = strnlen(name, sizeof word - 3);
    if (n == 0 || n > sizeof word - 4 || strchr(name, ' '))
        return false;
    snprintf(word, sizeof word, " %s ", name);
    return strstr(test_patterns, word) != NULL;
}

/* Bidirectional and invisible formatting characters: a room name is burned
 * into the picture and shown in the custody log, where such characters could
 * reverse or disguise it (as names of people, docs/decisions.md D4). */
static bool invisible(uint32_t cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/* 1..max bytes of UTF-8 text without control or invisible characters. */
static bool text_valid(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = tlo_utf8_text_char((const uint8_t *)s + i, n - i, &cp);
        if (len == 0 || invisible(cp))
            return false;
        i += len;
    }
    return true;
}

int tlo_hw_room_simulated(tlo_hw_room *out)
{
    if (!out)
        return TLO_EARG;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "simulated");
    static const char *const patterns[] = {"smpte", "ball"};
    out->n_cameras = 2;
    for (unsigned i = 0; i < 2; i++) {
        tlo_hw_camera *c = &out->cameras[i];
        c->source.kind = TLO_HW_SOURCE_TEST;
        snprintf(c->source.value, sizeof c->source.value, "%s", patterns[i]);
        c->width = 640;
        c->height = 360;
        c->fps = 25;
        c->bitrate_kbps = 1500;
    }
    out->n_microphones = 1;
    out->microphones[0].source.kind = TLO_HW_SOURCE_SPEECH;
    out->segment_seconds = TLO_HW_SEGMENT_DEFAULT;
    out->encoder = TLO_HW_ENCODER_AUTO;
    out->caption = true;
    return 0;
}

/* ---- checking a room ---- */

static int check_range(const char *what, unsigned v, unsigned lo, unsigned hi, tlo_error *err)
{
    if (v < lo || v > hi)
        return tlo_fail(err, TLO_EARG, "room: %s is %u, but must be from %u to %u", what, v, lo,
                        hi);
    return 0;
}

int tlo_hw_room_check(const tlo_hw_room *room, tlo_error *err)
{
    char what[64];
    int rc;
    if (!room)
        return tlo_fail(err, TLO_EARG, "room: no room given");
    if (!text_valid(room->name, TLO_HW_NAME_MAX))
        return tlo_fail(err, TLO_EARG,
                        "room: the name must be 1 to %d bytes of UTF-8 text without control or "
                        "invisible characters",
                        TLO_HW_NAME_MAX);
    if (room->n_cameras < 1 || room->n_cameras > TLO_HW_MAX_CAMERAS)
        return tlo_fail(err, TLO_EARG, "room: %u cameras, but a room has 1 to %d", room->n_cameras,
                        TLO_HW_MAX_CAMERAS);
    for (unsigned i = 0; i < room->n_cameras; i++) {
        const tlo_hw_camera *c = &room->cameras[i];
        if (c->source.kind == TLO_HW_SOURCE_TEST) {
            if (!test_pattern_known(c->source.value))
                return tlo_fail(err, TLO_EARG, "room: camera %u has an unknown test pattern",
                                i + 1);
        } else if (c->source.kind == TLO_HW_SOURCE_DEVICE) {
            if (!text_valid(c->source.value, TLO_HW_SOURCE_MAX))
                return tlo_fail(err, TLO_EARG, "room: camera %u has an invalid device name", i + 1);
        } else {
            return tlo_fail(err, TLO_EARG, "room: camera %u must be a test pattern or a device",
                            i + 1);
        }
        snprintf(what, sizeof what, "camera %u width", i + 1);
        if ((rc = check_range(what, c->width, TLO_HW_WIDTH_MIN, TLO_HW_WIDTH_MAX, err)))
            return rc;
        snprintf(what, sizeof what, "camera %u height", i + 1);
        if ((rc = check_range(what, c->height, TLO_HW_HEIGHT_MIN, TLO_HW_HEIGHT_MAX, err)))
            return rc;
        snprintf(what, sizeof what, "camera %u fps", i + 1);
        if ((rc = check_range(what, c->fps, TLO_HW_FPS_MIN, TLO_HW_FPS_MAX, err)))
            return rc;
        snprintf(what, sizeof what, "camera %u bitrate_kbps", i + 1);
        if ((rc = check_range(what, c->bitrate_kbps, TLO_HW_BITRATE_MIN, TLO_HW_BITRATE_MAX, err)))
            return rc;
    }
    if (room->n_microphones < 1 || room->n_microphones > TLO_HW_MAX_MICROPHONES)
        return tlo_fail(err, TLO_EARG, "room: %u microphones, but a room has 1 to %d",
                        room->n_microphones, TLO_HW_MAX_MICROPHONES);
    for (unsigned i = 0; i < room->n_microphones; i++) {
        const tlo_hw_source *s = &room->microphones[i].source;
        if (s->kind == TLO_HW_SOURCE_DEVICE) {
            if (!text_valid(s->value, TLO_HW_SOURCE_MAX))
                return tlo_fail(err, TLO_EARG, "room: microphone %u has an invalid device name",
                                i + 1);
        } else if (s->kind == TLO_HW_SOURCE_SPEECH || s->kind == TLO_HW_SOURCE_TONE) {
            if (s->value[0])
                return tlo_fail(err, TLO_EARG,
                                "room: microphone %u (speech or tone) must not name a device",
                                i + 1);
        } else {
            return tlo_fail(err, TLO_EARG, "room: microphone %u must be speech, tone or a device",
                            i + 1);
        }
    }
    if ((rc = check_range("segment_seconds", room->segment_seconds, TLO_HW_SEGMENT_MIN,
                          TLO_HW_SEGMENT_MAX, err)))
        return rc;
    if ((unsigned)room->encoder > TLO_HW_ENCODER_NVENC)
        return tlo_fail(err, TLO_EARG, "room: unknown encoder %d", (int)room->encoder);
    return 0;
}

/* ---- the profile parser ---- */

/* Text from the file (or a GLib message quoting it), made safe to show: valid
 * UTF-8 text characters are kept, any other byte becomes '?', and it is cut
 * to fit cap with "...". */
static const char *clean(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s), o = 0, i = 0;
    while (i < n && o + 4 + 4 < cap) {
        uint32_t cp;
        size_t len = tlo_utf8_text_char((const uint8_t *)s + i, n - i, &cp);
        if (len == 0 || invisible(cp)) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        }
    }
    if (i < n)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
    return out;
}

static const char *shown(const char *s, char out[64])
{
    return clean(s, out, 64);
}

typedef struct parser {
    GKeyFile *kf;
    const char *label;
    tlo_error *err;
} parser;

/* "room profile F: [G] K: MESSAGE" */
static int bad(const parser *p, const char *group, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(const parser *p, const char *group, const char *key, const char *fmt, ...)
{
    char msg[320], g[64], k[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (group && key)
        return tlo_fail(p->err, TLO_EARG, "room profile %s: [%s] %s: %s", p->label, shown(group, g),
                        shown(key, k), msg);
    if (group)
        return tlo_fail(p->err, TLO_EARG, "room profile %s: [%s]: %s", p->label, shown(group, g),
                        msg);
    return tlo_fail(p->err, TLO_EARG, "room profile %s: %s", p->label, msg);
}

/* The value of group/key with GKeyFile's escapes undone and surrounding
 * spaces removed (g_free it), or NULL with the error set. */
static char *value(const parser *p, const char *group, const char *key)
{
    GError *ge = NULL;
    char *v = g_key_file_get_string(p->kf, group, key, &ge);
    if (!v) {
        char m[160];
        if (ge && g_error_matches(ge, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_UNKNOWN_ENCODING))
            bad(p, group, key, "the value is not valid UTF-8 text");
        else
            bad(p, group, key, "%s", ge ? clean(ge->message, m, sizeof m) : "unreadable value");
        g_clear_error(&ge);
        return NULL;
    }
    return g_strstrip(v);
}

/* A whole number in lo..hi: digits only, no sign. */
static int get_uint(const parser *p, const char *group, const char *key, unsigned lo, unsigned hi,
                    unsigned *out)
{
    char *v = value(p, group, key), s[64];
    if (!v)
        return TLO_EARG;
    size_t n = strlen(v);
    bool digits = n >= 1 && n <= 9 && strspn(v, "0123456789") == n;
    unsigned long x = digits ? strtoul(v, NULL, 10) : 0;
    int rc = 0;
    if (!digits || x < lo || x > hi)
        rc = bad(p, group, key, "\"%s\" is not allowed: give a whole number from %u to %u",
                 shown(v, s), lo, hi);
    else
        *out = (unsigned)x;
    g_free(v);
    return rc;
}

static int get_bool(const parser *p, const char *group, const char *key, bool *out)
{
    char *v = value(p, group, key), s[64];
    if (!v)
        return TLO_EARG;
    int rc = 0;
    if (!strcmp(v, "true"))
        *out = true;
    else if (!strcmp(v, "false"))
        *out = false;
    else
        rc = bad(p, group, key, "\"%s\" is not allowed: give true or false", shown(v, s));
    g_free(v);
    return rc;
}

static int get_encoder(const parser *p, const char *group, const char *key, tlo_hw_encoder *out)
{
    char *v = value(p, group, key), s[64];
    if (!v)
        return TLO_EARG;
    int rc = TLO_EARG;
    for (unsigned i = 0; i < sizeof encoder_names / sizeof encoder_names[0]; i++)
        if (!strcmp(v, encoder_names[i])) {
            *out = (tlo_hw_encoder)i;
            rc = 0;
        }
    if (rc)
        bad(p, group, key, "\"%s\" is not allowed: give auto, x264, vaapi or nvenc", shown(v, s));
    g_free(v);
    return rc;
}

static int get_name(const parser *p, const char *group, const char *key, char *out, size_t cap)
{
    char *v = value(p, group, key);
    if (!v)
        return TLO_EARG;
    int rc = 0;
    if (!text_valid(v, cap - 1))
        rc = bad(p, group, key,
                 "the name must be 1 to %zu bytes of UTF-8 text without control or invisible "
                 "characters",
                 cap - 1);
    else
        snprintf(out, cap, "%s", v);
    g_free(v);
    return rc;
}

/* source=test:PATTERN | device:NAME (cameras); speech | tone | device:NAME
 * (microphones). */
static int get_source(const parser *p, const char *group, const char *key, bool camera,
                      tlo_hw_source *out)
{
    char *v = value(p, group, key), s[64];
    if (!v)
        return TLO_EARG;
    int rc = 0;
    const char *allowed = camera ? "give test:PATTERN (smpte, ball, snow, pinwheel, ... as "
                                   "docs/rooms.md lists) or device:NAME"
                                 : "give speech, tone or device:NAME";
    memset(out, 0, sizeof *out);
    if (!strncmp(v, "device:", 7)) {
        const char *d = v + 7;
        out->kind = TLO_HW_SOURCE_DEVICE;
        if (!text_valid(d, TLO_HW_SOURCE_MAX))
            rc = bad(p, group, key,
                     "the device after \"device:\" must be 1 to %d bytes of UTF-8 text without "
                     "control characters",
                     TLO_HW_SOURCE_MAX);
        else
            snprintf(out->value, sizeof out->value, "%s", d);
    } else if (camera && !strncmp(v, "test:", 5)) {
        out->kind = TLO_HW_SOURCE_TEST;
        if (!test_pattern_known(v + 5))
            rc = bad(p, group, key, "\"%s\" is not a test pattern; %s", shown(v + 5, s), allowed);
        else
            snprintf(out->value, sizeof out->value, "%s", v + 5);
    } else if (!camera && !strcmp(v, "speech")) {
        out->kind = TLO_HW_SOURCE_SPEECH;
    } else if (!camera && !strcmp(v, "tone")) {
        out->kind = TLO_HW_SOURCE_TONE;
    } else {
        rc = bad(p, group, key, "\"%s\" is not allowed: %s", shown(v, s), allowed);
    }
    g_free(v);
    return rc;
}

/* Keys a group may hold; any other key is an error. */
static int check_keys(const parser *p, const char *group, const char *const *allowed,
                      const char *list)
{
    gsize n = 0;
    char **keys = g_key_file_get_keys(p->kf, group, &n, NULL);
    int rc = 0;
    for (gsize i = 0; keys && i < n && rc == 0; i++) {
        bool known = false;
        for (size_t j = 0; allowed[j]; j++)
            known = known || !strcmp(keys[i], allowed[j]);
        if (!known)
            rc = bad(p, group, keys[i], "unknown key; this group may hold %s", list);
    }
    g_strfreev(keys);
    return rc;
}

/* "camera 3" -> 3 for prefix "camera"; 0 when the name is not that form
 * (digits 1..9999 without a leading zero after exactly one space). */
static unsigned group_number(const char *group, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(group, prefix, pl) || group[pl] != ' ')
        return 0;
    const char *d = group + pl + 1;
    size_t n = strlen(d);
    if (n < 1 || n > 4 || d[0] == '0' || strspn(d, "0123456789") != n)
        return 0;
    return (unsigned)strtoul(d, NULL, 10);
}

static int parse_room(const parser *p, tlo_hw_room *r)
{
    static const char *const keys[] = {"name", "segment_seconds", "encoder", "caption", NULL};
    const char *g = "room";
    int rc = check_keys(p, g, keys, "name, segment_seconds, encoder and caption");
    if (rc)
        return rc;
    if (!g_key_file_has_key(p->kf, g, "name", NULL))
        return bad(p, g, "name", "missing; every room has a name (shown in the caption and log)");
    if ((rc = get_name(p, g, "name", r->name, sizeof r->name)))
        return rc;
    r->segment_seconds = TLO_HW_SEGMENT_DEFAULT;
    if (g_key_file_has_key(p->kf, g, "segment_seconds", NULL) &&
        (rc = get_uint(p, g, "segment_seconds", TLO_HW_SEGMENT_MIN, TLO_HW_SEGMENT_MAX,
                       &r->segment_seconds)))
        return rc;
    r->encoder = TLO_HW_ENCODER_AUTO;
    if (g_key_file_has_key(p->kf, g, "encoder", NULL) &&
        (rc = get_encoder(p, g, "encoder", &r->encoder)))
        return rc;
    r->caption = false;
    if (g_key_file_has_key(p->kf, g, "caption", NULL) &&
        (rc = get_bool(p, g, "caption", &r->caption)))
        return rc;
    return 0;
}

static int parse_camera(const parser *p, const char *g, tlo_hw_camera *c)
{
    static const char *const keys[] = {"source", "width", "height", "fps", "bitrate_kbps", NULL};
    static const struct {
        const char *key;
        unsigned lo, hi, def;
        size_t off;
    } nums[] = {
        {"width", TLO_HW_WIDTH_MIN, TLO_HW_WIDTH_MAX, 1280, offsetof(tlo_hw_camera, width)},
        {"height", TLO_HW_HEIGHT_MIN, TLO_HW_HEIGHT_MAX, 720, offsetof(tlo_hw_camera, height)},
        {"fps", TLO_HW_FPS_MIN, TLO_HW_FPS_MAX, 25, offsetof(tlo_hw_camera, fps)},
        {"bitrate_kbps", TLO_HW_BITRATE_MIN, TLO_HW_BITRATE_MAX, 4000,
         offsetof(tlo_hw_camera, bitrate_kbps)},
    };
    int rc = check_keys(p, g, keys, "source, width, height, fps and bitrate_kbps");
    if (rc)
        return rc;
    if (!g_key_file_has_key(p->kf, g, "source", NULL))
        return bad(p, g, "source", "missing; give test:PATTERN or device:NAME");
    if ((rc = get_source(p, g, "source", true, &c->source)))
        return rc;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        unsigned *field = (unsigned *)((char *)c + nums[i].off);
        *field = nums[i].def;
        if (g_key_file_has_key(p->kf, g, nums[i].key, NULL) &&
            (rc = get_uint(p, g, nums[i].key, nums[i].lo, nums[i].hi, field)))
            return rc;
    }
    return 0;
}

static int parse_microphone(const parser *p, const char *g, tlo_hw_microphone *m)
{
    static const char *const keys[] = {"source", NULL};
    int rc = check_keys(p, g, keys, "source");
    if (rc)
        return rc;
    if (!g_key_file_has_key(p->kf, g, "source", NULL))
        return bad(p, g, "source", "missing; give speech, tone or device:NAME");
    return get_source(p, g, "source", false, &m->source);
}

/* GKeyFile quietly merges a group given twice and keeps the last of a key
 * given twice; in a profile either is more likely a mistake than intended,
 * so this pass, which splits lines as GKeyFile does, refuses both. */
static int no_duplicates(const parser *p, const char *data, size_t len)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char *group = NULL;
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0;) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        const char *s = data + i, *e = data + end;
        i = end + 1;
        while (s < e && g_ascii_isspace(*s))
            s++;
        while (e > s && g_ascii_isspace(e[-1]))
            e--;
        if (s == e || *s == '#')
            continue;
        if (*s == '[') {
            const char *close = memchr(s, ']', (size_t)(e - s));
            if (!close)
                continue; /* GKeyFile reports it */
            g_free(group);
            group = g_strndup(s + 1, (size_t)(close - s - 1));
            char *k = g_strconcat("[", group, NULL);
            if (!g_hash_table_add(seen, k))
                rc = bad(p, group, NULL, "the group appears twice; give each group once");
            continue;
        }
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (!eq || !group)
            continue; /* GKeyFile reports it */
        const char *ke = eq;
        while (ke > s && g_ascii_isspace(ke[-1]))
            ke--;
        char *key = g_strndup(s, (size_t)(ke - s));
        char *k = g_strconcat(group, "\n", key, NULL);
        if (!g_hash_table_add(seen, k))
            rc = bad(p, group, key, "the key appears twice in this group; give it once");
        g_free(key);
    }
    g_free(group);
    g_hash_table_destroy(seen);
    return rc;
}

int tlo_hw_room_parse(const char *data, size_t len, const char *label, tlo_hw_room *out,
                      tlo_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!data || !out)
        return tlo_fail(err, TLO_EARG, "tlo_hw_room_parse: no data or no output");
    if (!label)
        label = "(text)";
    parser p = {.kf = NULL, .label = label, .err = err};
    if (len > TLO_HW_PROFILE_MAX)
        return bad(&p, NULL, NULL, "%zu bytes; a room profile is at most %d bytes", len,
                   TLO_HW_PROFILE_MAX);
    if (memchr(data, '\0', len))
        return bad(&p, NULL, NULL, "holds a NUL byte; a room profile is text");
    int rc = no_duplicates(&p, data, len);
    if (rc)
        return rc;

    tlo_hw_room r;
    memset(&r, 0, sizeof r);
    GError *ge = NULL;
    p.kf = g_key_file_new();
    char **groups = NULL;
    /* Translations are kept so that "name[fr]=" is seen, and refused, as an
     * unknown key rather than dropped unseen. */
    if (!g_key_file_load_from_data(p.kf, data, len, G_KEY_FILE_KEEP_TRANSLATIONS, &ge)) {
        char m[200];
        rc = bad(&p, NULL, NULL, "not a key file (%s); see docs/rooms.md",
                 ge ? clean(ge->message, m, sizeof m) : "syntax error");
        g_clear_error(&ge);
        goto done;
    }
    gsize ng = 0;
    groups = g_key_file_get_groups(p.kf, &ng);
    bool have_room = false;
    bool cam_seen[TLO_HW_MAX_CAMERAS] = {false}, mic_seen[TLO_HW_MAX_MICROPHONES] = {false};
    for (gsize i = 0; i < ng && rc == 0; i++) {
        const char *g = groups[i];
        unsigned n;
        if (!strcmp(g, "room")) {
            have_room = true;
            rc = parse_room(&p, &r);
        } else if ((n = group_number(g, "camera")) != 0) {
            if (n > TLO_HW_MAX_CAMERAS) {
                rc = bad(&p, g, NULL, "a room has at most %d cameras, [camera 1] to [camera %d]",
                         TLO_HW_MAX_CAMERAS, TLO_HW_MAX_CAMERAS);
                break;
            }
            cam_seen[n - 1] = true;
            rc = parse_camera(&p, g, &r.cameras[n - 1]);
            if (n > r.n_cameras)
                r.n_cameras = n;
        } else if ((n = group_number(g, "microphone")) != 0) {
            if (n > TLO_HW_MAX_MICROPHONES) {
                rc = bad(&p, g, NULL,
                         "a room has at most %d microphones, [microphone 1] to [microphone %d]",
                         TLO_HW_MAX_MICROPHONES, TLO_HW_MAX_MICROPHONES);
                break;
            }
            mic_seen[n - 1] = true;
            rc = parse_microphone(&p, g, &r.microphones[n - 1]);
            if (n > r.n_microphones)
                r.n_microphones = n;
        } else {
            rc = bad(&p, g, NULL,
                     "unknown group; a profile holds [room], [camera 1] to [camera %d] and "
                     "[microphone 1] to [microphone %d]",
                     TLO_HW_MAX_CAMERAS, TLO_HW_MAX_MICROPHONES);
        }
    }
    if (rc)
        goto done;
    if (!have_room) {
        rc = bad(&p, "room", NULL, "missing; every profile has a [room] group with its name");
        goto done;
    }
    if (r.n_cameras == 0) {
        rc = bad(&p, "camera 1", NULL, "missing; a room has at least one camera");
        goto done;
    }
    if (r.n_microphones == 0) {
        rc = bad(&p, "microphone 1", NULL, "missing; a room has at least one microphone");
        goto done;
    }
    for (unsigned i = 0; i < r.n_cameras; i++)
        if (!cam_seen[i]) {
            char g[32];
            snprintf(g, sizeof g, "camera %u", i + 1);
            rc = bad(&p, g, NULL, "missing while [camera %u] is given; number cameras from 1",
                     r.n_cameras);
            goto done;
        }
    for (unsigned i = 0; i < r.n_microphones; i++)
        if (!mic_seen[i]) {
            char g[32];
            snprintf(g, sizeof g, "microphone %u", i + 1);
            rc = bad(&p, g, NULL,
                     "missing while [microphone %u] is given; number microphones from 1",
                     r.n_microphones);
            goto done;
        }
    /* The parser checked each value; this is the same rule set once more,
     * for the struct as a whole. */
    tlo_error e2 = {0};
    if (tlo_hw_room_check(&r, &e2)) {
        rc = bad(&p, NULL, NULL, "%s", e2.msg);
        goto done;
    }
    *out = r;
done:
    g_strfreev(groups);
    g_key_file_free(p.kf);
    return rc;
}

int tlo_hw_room_load(const char *path, tlo_hw_room *out, tlo_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return tlo_fail(err, TLO_EARG, "tlo_hw_room_load: no path or no output");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block */
    if (fd < 0)
        return tlo_fail(err, errno == ENOENT ? TLO_EARG : TLO_EIO,
                        "cannot open the room profile %s: %s%s", path, strerror(errno),
                        errno == ENOENT ? " (give the path of a profile, or \"simulated\")" : "");
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tlo_fail(err, TLO_EARG, "the room profile %s is not a regular file", path);
    }
    /* One byte more than allowed tells a too-large file from a full one. */
    char *buf = g_malloc(TLO_HW_PROFILE_MAX + 1);
    long long got = tlo_pread_full(fd, buf, TLO_HW_PROFILE_MAX + 1, 0);
    int saved = got < 0 ? (int)-got : 0;
    close(fd);
    int rc;
    if (got < 0)
        rc = tlo_fail(err, TLO_EIO, "cannot read the room profile %s: %s", path, strerror(saved));
    else
        rc = tlo_hw_room_parse(buf, (size_t)got, path, out, err);
    g_free(buf);
    return rc;
}

int tlo_hw_room_resolve(const char *spec, tlo_hw_room *out, tlo_error *err)
{
    if (spec && !strcmp(spec, "simulated")) {
        tlo_hw_room_simulated(out);
        return 0;
    }
    return tlo_hw_room_load(spec, out, err);
}

/* ---- canonical text and digest ---- */

/* key=value\n with control bytes, DEL and '\' of the value as \xNN, so that
 * a line cannot end early and the text maps back to one room. */
static char *line(const char *key, const char *val, size_t max)
{
    GString *s = g_string_new(key);
    g_string_append_c(s, '=');
    size_t n = strnlen(val, max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)val[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            g_string_append_printf(s, "\\x%02x", c);
        else
            g_string_append_c(s, (char)c);
    }
    g_string_append_c(s, '\n');
    return g_string_free(s, FALSE);
}

static char *line_u(const char *key, unsigned v)
{
    return g_strdup_printf("%s=%u\n", key, v);
}

static char *source_line(const char *key, const tlo_hw_source *src)
{
    char v[TLO_HW_SOURCE_MAX + 16];
    size_t n = strnlen(src->value, sizeof src->value);
    switch (src->kind) {
    case TLO_HW_SOURCE_TEST:
        snprintf(v, sizeof v, "test:%.*s", (int)n, src->value);
        break;
    case TLO_HW_SOURCE_DEVICE:
        snprintf(v, sizeof v, "device:%.*s", (int)n, src->value);
        break;
    case TLO_HW_SOURCE_SPEECH:
        snprintf(v, sizeof v, "speech");
        break;
    case TLO_HW_SOURCE_TONE:
        snprintf(v, sizeof v, "tone");
        break;
    default:
        snprintf(v, sizeof v, "invalid");
        break;
    }
    return line(key, v, sizeof v);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t tlo_hw_room_describe(const tlo_hw_room *room, char *out, size_t cap)
{
    if (out && cap)
        out[0] = '\0';
    if (!room)
        return 0;
    char *lines[8 + 5 * TLO_HW_MAX_CAMERAS + TLO_HW_MAX_MICROPHONES];
    size_t n = 0;
    char key[48];
    unsigned ncam = room->n_cameras < TLO_HW_MAX_CAMERAS ? room->n_cameras : TLO_HW_MAX_CAMERAS;
    unsigned nmic =
        room->n_microphones < TLO_HW_MAX_MICROPHONES ? room->n_microphones : TLO_HW_MAX_MICROPHONES;

    lines[n++] = line_u("version", 1);
    lines[n++] = line("name", room->name, sizeof room->name);
    lines[n++] = line_u("segment_seconds", room->segment_seconds);
    lines[n++] = line("encoder", tlo_hw_encoder_name(room->encoder), 16);
    lines[n++] = line("caption", room->caption ? "true" : "false", 8);
    lines[n++] = line_u("cameras", room->n_cameras);
    lines[n++] = line_u("microphones", room->n_microphones);
    for (unsigned i = 0; i < ncam; i++) {
        const tlo_hw_camera *c = &room->cameras[i];
        snprintf(key, sizeof key, "camera.%u.source", i + 1);
        lines[n++] = source_line(key, &c->source);
        snprintf(key, sizeof key, "camera.%u.width", i + 1);
        lines[n++] = line_u(key, c->width);
        snprintf(key, sizeof key, "camera.%u.height", i + 1);
        lines[n++] = line_u(key, c->height);
        snprintf(key, sizeof key, "camera.%u.fps", i + 1);
        lines[n++] = line_u(key, c->fps);
        snprintf(key, sizeof key, "camera.%u.bitrate_kbps", i + 1);
        lines[n++] = line_u(key, c->bitrate_kbps);
    }
    for (unsigned i = 0; i < nmic; i++) {
        snprintf(key, sizeof key, "microphone.%u.source", i + 1);
        lines[n++] = source_line(key, &room->microphones[i].source);
    }
    /* Keys in ascending byte order ('.' sorts before letters, so
     * "camera.1.fps" comes before "cameras"); no key is a prefix of another
     * followed by '=', so sorting whole lines sorts the keys. */
    qsort(lines, n, sizeof lines[0], by_text);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        if (out && total + l < cap)
            memcpy(out + total, lines[i], l + 1);
        else if (out && total < cap)
            out[total] = '\0'; /* truncated: stop at the last whole line */
        total += l;
        g_free(lines[i]);
    }
    return total;
}

void tlo_hw_room_digest(const tlo_hw_room *room, uint8_t out[static TLO_HW_DIGEST_BYTES])
{
    char *text = g_malloc(TLO_HW_DESCRIBE_MAX);
    size_t n = tlo_hw_room_describe(room, text, TLO_HW_DESCRIBE_MAX);
    if (n >= TLO_HW_DESCRIBE_MAX) { /* a room filled by hand with oversized text */
        text = g_realloc(text, n + 1);
        tlo_hw_room_describe(room, text, n + 1);
    }
    GChecksum *h = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(h, (const guchar *)text, (gssize)n);
    gsize dlen = TLO_HW_DIGEST_BYTES;
    g_checksum_get_digest(h, out, &dlen);
    g_checksum_free(h);
    g_free(text);
}

/* ---- speech ---- */

static const char default_speech[] =
    "This is the simulated interview room of tellonce. The two cameras show test patterns and a "
    "running clock. This voice is synthesized test material, not evidence. "
    "One, two, three, four, five.";

#define SPEECH_TEXT_MAX 4096
#define SPEECH_OUT_MAX (64u << 20) /* 4 KiB of text is minutes of speech, not 64 MiB */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int tlo_hw_wav_parse(const uint8_t *wav, size_t len, tlo_hw_wav *out, tlo_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!wav || !out)
        return tlo_fail(err, TLO_EARG, "tlo_hw_wav_parse: no data or no output");
    if (len < 12 || memcmp(wav, "RIFF", 4) || memcmp(wav + 8, "WAVE", 4))
        return tlo_fail(err, TLO_EFORMAT, "not a WAV file (no RIFF/WAVE header)");
    tlo_hw_wav w = {0};
    bool have_fmt = false;
    size_t off = 12;
    while (len - off >= 8) {
        const uint8_t *c = wav + off;
        uint32_t size = le32(c + 4);
        size_t body = off + 8, avail = len - body;
        if (!memcmp(c, "fmt ", 4)) {
            if (size < 16 || size > avail)
                return tlo_fail(err, TLO_EFORMAT, "WAV: the fmt chunk is cut short");
            unsigned tag = le16(wav + body), ch = le16(wav + body + 2);
            unsigned bits = le16(wav + body + 14), align = le16(wav + body + 12);
            uint32_t rate = le32(wav + body + 4);
            if (tag != 1 || ch < 1 || ch > 8 || rate < 1000 || rate > 192000 ||
                (bits != 8 && bits != 16 && bits != 24 && bits != 32) || align != ch * bits / 8)
                return tlo_fail(err, TLO_EFORMAT,
                                "WAV: not plain PCM (format %u, %u channels, %u Hz, %u bits)", tag,
                                ch, (unsigned)rate, bits);
            w.rate = rate;
            w.channels = ch;
            w.bits = bits;
            have_fmt = true;
        } else if (!memcmp(c, "data", 4)) {
            if (!have_fmt)
                return tlo_fail(err, TLO_EFORMAT, "WAV: the data chunk comes before fmt");
            size_t frame = (size_t)w.channels * w.bits / 8;
            size_t n = size < avail ? size : avail; /* streamed output claims more */
            w.data_offset = body;
            w.data_bytes = n - n % frame;
            *out = w;
            return 0;
        }
        if (size > avail)
            break;
        off = body + size + (size & 1);
        if (off > len)
            break;
    }
    return tlo_fail(err, TLO_EFORMAT, "WAV: no data chunk");
}

/* Reads all of fd, at most max bytes. 0, or -errno / -EFBIG. */
static int read_all(int fd, size_t max, uint8_t **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = g_malloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                g_free(buf);
                return -EFBIG;
            }
            cap *= 2;
            buf = g_realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            g_free(buf);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

int tlo_hw_speech_pcm(const char *text, uint8_t **wav, size_t *len, tlo_error *err)
{
    if (wav)
        *wav = NULL;
    if (len)
        *len = 0;
    if (!wav || !len)
        return tlo_fail(err, TLO_EARG, "tlo_hw_speech_pcm: no output");
    if (!text)
        text = default_speech;
    size_t tl = strnlen(text, SPEECH_TEXT_MAX + 1);
    if (tl == 0 || tl > SPEECH_TEXT_MAX || !g_utf8_validate(text, (gssize)tl, NULL))
        return tlo_fail(err, TLO_EARG, "speech text must be 1 to %d bytes of UTF-8",
                        SPEECH_TEXT_MAX);
    char *prog = g_find_program_in_path("espeak-ng");
    if (!prog)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "espeak-ng is not installed; the simulated room's microphone speaks with "
                        "it (install the Debian package espeak-ng, listed in scripts/deps)");
    /* "--" so that a text starting with '-' is spoken, not taken as an option.
     * Its output comes through a pipe into memory: it is test material. */
    char *words = g_strndup(text, tl);
    char *argv[] = {prog, (char *)"--stdout", (char *)"-s", (char *)"150", (char *)"--", words,
                    NULL};
    GPid pid;
    int out_fd = -1;
    GError *ge = NULL;
    if (!g_spawn_async_with_pipes(NULL, argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL |
                                      G_SPAWN_CLOEXEC_PIPES,
                                  NULL, NULL, &pid, NULL, &out_fd, NULL, &ge)) {
        int rc = tlo_fail(err, TLO_EIO, "cannot run %s: %s", prog, ge ? ge->message : "?");
        g_clear_error(&ge);
        g_free(words);
        g_free(prog);
        return rc;
    }
    g_free(words);
    uint8_t *buf = NULL;
    size_t n = 0;
    int rr = read_all(out_fd, SPEECH_OUT_MAX, &buf, &n);
    close(out_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    g_spawn_close_pid(pid);
    int rc = 0;
    tlo_hw_wav w;
    tlo_error e2 = {0};
    if (rr != 0)
        rc = tlo_fail(err, TLO_EIO, "reading the speech from %s failed: %s", prog,
                      rr == -EFBIG ? "more than 64 MiB" : strerror(-rr));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = tlo_fail(err, TLO_EIO, "%s failed (%s %d); try it by hand: espeak-ng --stdout hello",
                      prog, WIFEXITED(status) ? "exit status" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    else if (tlo_hw_wav_parse(buf, n, &w, &e2) != 0)
        rc = tlo_fail(err, TLO_EIO, "%s gave no usable audio: %s", prog, e2.msg);
    else if (w.data_bytes == 0)
        rc = tlo_fail(err, TLO_EIO, "%s gave no audio for the text", prog);
    g_free(prog);
    if (rc) {
        g_free(buf);
        return rc;
    }
    /* Written to a pipe, espeak-ng cannot go back to fill in the sizes;
     * fill them in so the image is an ordinary WAV file. */
    n = w.data_offset + w.data_bytes;
    store_le32(buf + 4, (uint32_t)(n - 8));
    store_le32(buf + w.data_offset - 4, (uint32_t)w.data_bytes);
    *wav = buf;
    *len = n;
    return 0;
}
