/* hw: room profiles (the simulated room, a full profile's canonical text and
 * digest, every invalid value, unknown and duplicate groups and keys), the
 * encoder choice (with fake hardware encoders, one broken), speech into
 * memory, device listing, and the source bins running briefly. */
#include "hw.h"
#include "testutil.h"

#include <glob.h>
#include <gst/gst.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* GStreamer 1.22's PulseAudio device provider leaks its context and main
 * loop when no sound server answers (gst_pulse_device_provider_probe returns
 * at "failed:" without freeing them), as on a machine without audio. Not our
 * code; LeakSanitizer reads this hook in addition to tests/lsan.supp. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libgstpulseaudio.so\n";
}

static char tmpdir[] = "/tmp/tlo-hw-XXXXXX";
static int nfiles;

/* Writes text to a new file in tmpdir; returns its path (static buffer). */
static const char *write_profile(const char *text, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/room-%d.room", tmpdir, nfiles++);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
    return path;
}

static const char full_profile[] = "# Interview room 2, ground floor\n"
                                   "[room]\n"
                                   "name=Interview room 2\n"
                                   "segment_seconds=6\n"
                                   "encoder=x264\n"
                                   "caption=true\n"
                                   "\n"
                                   "[camera 1]\n"
                                   "source=test:pinwheel\n"
                                   "width=1280\n"
                                   "height=720\n"
                                   "fps=30\n"
                                   "bitrate_kbps=4000\n"
                                   "\n"
                                   "[camera 2]\n"
                                   "source=device:/dev/video0\n"
                                   "width=1920\n"
                                   "height=1080\n"
                                   "fps=25\n"
                                   "bitrate_kbps=8000\n"
                                   "\n"
                                   "[microphone 1]\n"
                                   "source=tone\n"
                                   "\n"
                                   "[microphone 2]\n"
                                   "source=device:Built-in Audio Analog Stereo\n";

/* The canonical text of full_profile: the format of the ledger's room
 * digest. Changing it changes every digest: bump version= when you must. */
static const char full_text[] = "camera.1.bitrate_kbps=4000\n"
                                "camera.1.fps=30\n"
                                "camera.1.height=720\n"
                                "camera.1.source=test:pinwheel\n"
                                "camera.1.width=1280\n"
                                "camera.2.bitrate_kbps=8000\n"
                                "camera.2.fps=25\n"
                                "camera.2.height=1080\n"
                                "camera.2.source=device:/dev/video0\n"
                                "camera.2.width=1920\n"
                                "cameras=2\n"
                                "caption=true\n"
                                "encoder=x264\n"
                                "microphone.1.source=tone\n"
                                "microphone.2.source=device:Built-in Audio Analog Stereo\n"
                                "microphones=2\n"
                                "name=Interview room 2\n"
                                "segment_seconds=6\n"
                                "version=1\n";

static const char simulated_text[] = "camera.1.bitrate_kbps=1500\n"
                                     "camera.1.fps=25\n"
                                     "camera.1.height=360\n"
                                     "camera.1.source=test:smpte\n"
                                     "camera.1.width=640\n"
                                     "camera.2.bitrate_kbps=1500\n"
                                     "camera.2.fps=25\n"
                                     "camera.2.height=360\n"
                                     "camera.2.source=test:ball\n"
                                     "camera.2.width=640\n"
                                     "cameras=2\n"
                                     "caption=true\n"
                                     "encoder=auto\n"
                                     "microphone.1.source=speech\n"
                                     "microphones=1\n"
                                     "name=simulated\n"
                                     "segment_seconds=4\n"
                                     "version=1\n";

/* full_profile with the first occurrence of from replaced by to. */
static char *edited(const char *from, const char *to)
{
    const char *at = strstr(full_profile, from);
    if (!at) {
        fprintf(stderr, "test bug: \"%s\" not in the profile\n", from);
        exit(1);
    }
    size_t pre = (size_t)(at - full_profile);
    char *out = malloc(sizeof full_profile + strlen(to));
    memcpy(out, full_profile, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    return out;
}

static void sha256(const char *text, uint8_t out[32])
{
    GChecksum *h = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(h, (const guchar *)text, (gssize)strlen(text));
    gsize n = 32;
    g_checksum_get_digest(h, out, &n);
    g_checksum_free(h);
}

static void test_simulated(void)
{
    tlo_hw_room r;
    memset(&r, 0xa5, sizeof r);
    CHECK(tlo_hw_room_simulated(&r) == 0);
    CHECK(!strcmp(r.name, "simulated"));
    CHECK(r.n_cameras == 2);
    CHECK(r.cameras[0].source.kind == TLO_HW_SOURCE_TEST);
    CHECK(!strcmp(r.cameras[0].source.value, "smpte"));
    CHECK(r.cameras[1].source.kind == TLO_HW_SOURCE_TEST);
    CHECK(!strcmp(r.cameras[1].source.value, "ball"));
    for (int i = 0; i < 2; i++) {
        CHECK(r.cameras[i].width == 640);
        CHECK(r.cameras[i].height == 360);
        CHECK(r.cameras[i].fps == 25);
        CHECK(r.cameras[i].bitrate_kbps == 1500);
    }
    CHECK(r.n_microphones == 1);
    CHECK(r.microphones[0].source.kind == TLO_HW_SOURCE_SPEECH);
    CHECK(r.segment_seconds == 4);
    CHECK(r.encoder == TLO_HW_ENCODER_AUTO);
    CHECK(r.caption);
    tlo_error err = {0};
    CHECK_MSG(tlo_hw_room_check(&r, &err) == 0, "%s", err.msg);

    char text[TLO_HW_DESCRIBE_MAX];
    size_t n = tlo_hw_room_describe(&r, text, sizeof text);
    CHECK(n == strlen(simulated_text));
    CHECK_MSG(!strcmp(text, simulated_text), "got:\n%s", text);
    uint8_t d[32], want[32];
    tlo_hw_room_digest(&r, d);
    sha256(simulated_text, want);
    CHECK(!memcmp(d, want, 32));
    char hex[65];
    tlo_hex(hex, d, 32); /* as docs/rooms.md states it */
    CHECK(!strcmp(hex, "0d79eabebd2f47db0551c12bec13bf0f6238d7b1f4abbe4fb15cd27dfa308e6d"));

    tlo_hw_room r2;
    CHECK(tlo_hw_room_resolve("simulated", &r2, &err) == 0);
    CHECK(!memcmp(&r, &r2, sizeof r)); /* both fully zeroed first */
    CHECK(tlo_hw_room_simulated(NULL) == TLO_EARG);
}

static void test_full_profile(void)
{
    tlo_error err = {0};
    const char *path = write_profile(full_profile, strlen(full_profile));
    tlo_hw_room r;
    int rc = tlo_hw_room_load(path, &r, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(!strcmp(r.name, "Interview room 2"));
    CHECK(r.segment_seconds == 6 && r.encoder == TLO_HW_ENCODER_X264 && r.caption);
    CHECK(r.n_cameras == 2 && r.n_microphones == 2);
    CHECK(r.cameras[0].source.kind == TLO_HW_SOURCE_TEST);
    CHECK(!strcmp(r.cameras[0].source.value, "pinwheel"));
    CHECK(r.cameras[0].width == 1280 && r.cameras[0].height == 720);
    CHECK(r.cameras[0].fps == 30 && r.cameras[0].bitrate_kbps == 4000);
    CHECK(r.cameras[1].source.kind == TLO_HW_SOURCE_DEVICE);
    CHECK(!strcmp(r.cameras[1].source.value, "/dev/video0"));
    CHECK(r.cameras[1].width == 1920 && r.cameras[1].height == 1080);
    CHECK(r.cameras[1].fps == 25 && r.cameras[1].bitrate_kbps == 8000);
    CHECK(r.microphones[0].source.kind == TLO_HW_SOURCE_TONE);
    CHECK(r.microphones[1].source.kind == TLO_HW_SOURCE_DEVICE);
    CHECK(!strcmp(r.microphones[1].source.value, "Built-in Audio Analog Stereo"));

    /* The canonical text, exactly; sorted keys of [a-z0-9_.]. */
    char text[TLO_HW_DESCRIBE_MAX];
    size_t n = tlo_hw_room_describe(&r, text, sizeof text);
    CHECK(n == strlen(full_text));
    CHECK_MSG(!strcmp(text, full_text), "got:\n%s", text);
    char prev[128] = "";
    for (char *l = text, *nl; *l; l = nl + 1) {
        nl = strchr(l, '\n');
        char *eq = memchr(l, '=', (size_t)(nl - l));
        CHECK(nl && eq);
        if (!nl || !eq)
            break;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - l), l);
        CHECK_MSG(strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_.") == strlen(key), "%s", key);
        CHECK_MSG(strcmp(prev, key) < 0, "%s before %s", prev, key);
        snprintf(prev, sizeof prev, "%s", key);
    }
    /* Truncation: like snprintf, the full length, a NUL-terminated prefix. */
    char small[40];
    CHECK(tlo_hw_room_describe(&r, small, sizeof small) == n);
    CHECK(strlen(small) < sizeof small && !strncmp(small, full_text, strlen(small)));
    CHECK(tlo_hw_room_describe(&r, NULL, 0) == n);

    /* The digest: stable, SHA-256 of the text, and changed by every value. */
    uint8_t d0[32], d1[32], want[32];
    tlo_hw_room_digest(&r, d0);
    sha256(full_text, want);
    CHECK(!memcmp(d0, want, 32));
    tlo_hw_room again;
    CHECK(tlo_hw_room_load(path, &again, &err) == 0);
    tlo_hw_room_digest(&again, d1);
    CHECK(!memcmp(d0, d1, 32));

    tlo_hw_room m;
#define MUTATE(stmt)                                                                               \
    do {                                                                                           \
        m = r;                                                                                     \
        stmt;                                                                                      \
        tlo_hw_room_digest(&m, d1);                                                                \
        CHECK_MSG(memcmp(d0, d1, 32) != 0, "digest unchanged by %s", #stmt);                       \
    } while (0)
    MUTATE(m.name[0] = 'i');
    MUTATE(m.segment_seconds = 5);
    MUTATE(m.encoder = TLO_HW_ENCODER_AUTO);
    MUTATE(m.caption = false);
    MUTATE(m.n_cameras = 1);
    MUTATE(m.n_microphones = 1);
    for (int i = 0; i < 2; i++) {
        MUTATE(m.cameras[i].width++);
        MUTATE(m.cameras[i].height++);
        MUTATE(m.cameras[i].fps++);
        MUTATE(m.cameras[i].bitrate_kbps++);
        MUTATE(m.cameras[i].source.value[1] ^= 1);
        MUTATE(m.cameras[i].source.kind ^= 1); /* test <-> device */
        MUTATE(m.microphones[i].source.kind = i ? TLO_HW_SOURCE_TONE : TLO_HW_SOURCE_SPEECH);
    }
    MUTATE(m.microphones[1].source.value[0] = 'b');
#undef MUTATE
    /* Unused slots are not part of the room. */
    m = r;
    m.cameras[3].width = 999;
    tlo_hw_room_digest(&m, d1);
    CHECK(!memcmp(d0, d1, 32));
    /* A value with a newline cannot forge a line of the canonical text. */
    m = r;
    snprintf(m.name, sizeof m.name, "x\nversion=2");
    n = tlo_hw_room_describe(&m, text, sizeof text);
    CHECK(strstr(text, "name=x\\x0aversion=2\n") != NULL);
    CHECK(tlo_hw_room_check(&m, &err) == TLO_EARG);

    /* Every pattern videotestsrc has is a test source. */
    GstElement *vts = gst_element_factory_make("videotestsrc", NULL);
    CHECK(vts != NULL);
    if (vts) {
        GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(vts), "pattern");
        GEnumClass *ec = G_PARAM_SPEC_ENUM(ps)->enum_class;
        for (guint i = 0; i < ec->n_values; i++) {
            char from[80];
            snprintf(from, sizeof from, "source=test:%s", ec->values[i].value_nick);
            char *t = edited("source=test:pinwheel", from);
            rc = tlo_hw_room_load(write_profile(t, strlen(t)), &m, &err);
            CHECK_MSG(rc == 0, "%s: %s", from, err.msg);
            free(t);
        }
        gst_object_unref(gst_object_ref_sink(vts));
    }

    /* Defaults: only what must be given. */
    static const char minimal[] = "[room]\nname=small\n[camera 1]\nsource=test:ball\n"
                                  "[microphone 1]\nsource=speech\n";
    CHECK(tlo_hw_room_load(write_profile(minimal, strlen(minimal)), &m, &err) == 0);
    CHECK(m.segment_seconds == 4 && m.encoder == TLO_HW_ENCODER_AUTO && !m.caption);
    CHECK(m.cameras[0].width == 1280 && m.cameras[0].height == 720);
    CHECK(m.cameras[0].fps == 25 && m.cameras[0].bitrate_kbps == 4000);

    /* The limits themselves are allowed; escapes and spaces as GKeyFile has them. */
    static const char *const edges[][2] = {
        {"width=1280", "width=16"},
        {"width=1280", "width=7680"},
        {"height=720", "height=16"},
        {"height=720", "height=4320"},
        {"fps=30", "fps=1"},
        {"fps=30", "fps=120"},
        {"bitrate_kbps=4000", "bitrate_kbps=100"},
        {"bitrate_kbps=4000", "bitrate_kbps=100000"},
        {"segment_seconds=6", "segment_seconds=1"},
        {"segment_seconds=6", "segment_seconds=60"},
        {"encoder=x264", "encoder=auto"},
        {"encoder=x264", "encoder=vaapi"},
        {"encoder=x264", "encoder=nvenc"},
        {"caption=true", "caption=false"},
        {"width=1280", "width = 1280 "},
        {"name=Interview room 2", "name=Salle d'écoute 2"},
        {"name=Interview room 2", "name="
                                  "询问室 2"},
        {"source=tone", "source=speech"},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        char *t = edited(edges[i][0], edges[i][1]);
        rc = tlo_hw_room_load(write_profile(t, strlen(t)), &m, &err);
        CHECK_MSG(rc == 0, "%s: %s", edges[i][1], err.msg);
        free(t);
    }
}

/* A message is one line a terminal shows as it is: no control bytes. */
static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Each bad value: the message names the file, the group and key, and what
 * is allowed. */
static void test_bad_values(void)
{
    static const struct {
        const char *from, *to, *needle, *allowed;
    } cases[] = {
        {"width=1280", "width=15", "[camera 1] width", "16 to 7680"},
        {"width=1280", "width=7681", "[camera 1] width", "16 to 7680"},
        {"width=1280", "width=abc", "[camera 1] width", "16 to 7680"},
        {"width=1280", "width=-640", "[camera 1] width", "whole number"},
        {"width=1280", "width=+640", "[camera 1] width", "whole number"},
        {"width=1280", "width=1e3", "[camera 1] width", "whole number"},
        {"width=1280", "width=0x500", "[camera 1] width", "whole number"},
        {"width=1280", "width=12.5", "[camera 1] width", "whole number"},
        {"width=1280", "width=", "[camera 1] width", "whole number"},
        {"width=1280", "width=4294968576", "[camera 1] width", "16 to 7680"},
        {"width=1920", "width=99999999999999999999", "[camera 2] width", "16 to 7680"},
        {"height=720", "height=15", "[camera 1] height", "16 to 4320"},
        {"height=1080", "height=4321", "[camera 2] height", "16 to 4320"},
        {"fps=30", "fps=0", "[camera 1] fps", "1 to 120"},
        {"fps=25", "fps=121", "[camera 2] fps", "1 to 120"},
        {"bitrate_kbps=4000", "bitrate_kbps=99", "[camera 1] bitrate_kbps", "100 to 100000"},
        {"bitrate_kbps=8000", "bitrate_kbps=100001", "[camera 2] bitrate_kbps", "100 to 100000"},
        {"segment_seconds=6", "segment_seconds=0", "[room] segment_seconds", "1 to 60"},
        {"segment_seconds=6", "segment_seconds=61", "[room] segment_seconds", "1 to 60"},
        {"encoder=x264", "encoder=h265", "[room] encoder", "auto, x264, vaapi or nvenc"},
        {"encoder=x264", "encoder=X264", "[room] encoder", "auto, x264, vaapi or nvenc"},
        {"caption=true", "caption=yes", "[room] caption", "true or false"},
        {"caption=true", "caption=1", "[room] caption", "true or false"},
        {"name=Interview room 2", "name=", "[room] name", "1 to 63 bytes"},
        {"name=Interview room 2", "name=   ", "[room] name", "1 to 63 bytes"},
        {"name=Interview room 2", "name=a\\tb", "[room] name", "control"},
        {"name=Interview room 2",
         "name=evil\xe2\x80\xae"
         "2 moor",
         "[room] name", "invisible"},
        {"name=Interview room 2", "name=\xff\xfe", "[room] name", "UTF-8"},
        {"name=Interview room 2",
         "name=0123456789012345678901234567890123456789012345678901234567890123", "[room] name",
         "1 to 63 bytes"},
        {"source=test:pinwheel", "source=test:nope", "[camera 1] source", "test:PATTERN"},
        {"source=test:pinwheel", "source=test:", "[camera 1] source", "test:PATTERN"},
        {"source=test:pinwheel", "source=speech", "[camera 1] source", "device:NAME"},
        {"source=test:pinwheel", "source=/dev/video0", "[camera 1] source", "device:NAME"},
        {"source=device:/dev/video0", "source=device:", "[camera 2] source", "1 to 255 bytes"},
        {"source=tone", "source=test:smpte", "[microphone 1] source", "speech, tone or device"},
        {"source=tone", "source=loud", "[microphone 1] source", "speech, tone or device"},
        {"source=tone", "source=Speech", "[microphone 1] source", "speech, tone or device"},
        /* Unknown keys, with what the group may hold. */
        {"[room]\n", "[room]\ncolour=blue\n", "[room] colour", "name, segment_seconds"},
        {"fps=30\n", "fps=30\nfocus=auto\n", "[camera 1] focus", "source, width, height"},
        {"source=tone\n", "source=tone\ngain=3\n", "[microphone 1] gain", "source"},
        {"name=Interview room 2", "name[fr]=Salle 2\nname=Interview room 2", "[room] name[fr]",
         "unknown key"},
        /* Missing keys. */
        {"name=Interview room 2\n", "", "[room] name", "missing"},
        {"source=test:pinwheel\n", "", "[camera 1] source", "missing"},
        {"source=tone\n", "", "[microphone 1] source", "missing"},
        /* Twice. */
        {"fps=30\n", "fps=30\nfps=25\n", "[camera 1] fps", "twice"},
        {"name=Interview room 2\n", "name=Interview room 2\nname = Room 3\n", "[room] name",
         "twice"},
        {"[microphone 2]", "[camera 1]\nwidth=640\n[microphone 2]", "[camera 1]", "twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = edited(cases[i].from, cases[i].to);
        const char *path = write_profile(t, strlen(t));
        tlo_error err = {0};
        tlo_hw_room r;
        memset(&r, 0x5a, sizeof r);
        int rc = tlo_hw_room_load(path, &r, &err);
        CHECK_ERR(rc, err, TLO_EARG, cases[i].needle);
        CHECK_MSG(strstr(err.msg, cases[i].allowed) != NULL, "\"%s\" lacks \"%s\"", err.msg,
                  cases[i].allowed);
        CHECK_MSG(strstr(err.msg, path) != NULL, "\"%s\" lacks the file name", err.msg);
        /* Nothing of a failed profile is left in the output. */
        static const tlo_hw_room zero;
        CHECK(!memcmp(&r, &zero, sizeof r));
        CHECK_MSG(printable(err.msg), "control byte in \"%s\"", err.msg);
        free(t);
    }
}

static void test_bad_structure(void)
{
    static const struct {
        const char *text, *needle;
        int code;
    } cases[] = {
        {"[room]\nname=r\n[speaker 1]\nsource=tone\n[camera 1]\nsource=test:ball\n"
         "[microphone 1]\nsource=tone\n",
         "[speaker 1]: unknown group", TLO_EARG},
        {"[room]\nname=r\n[camera 0]\nsource=test:ball\n[microphone 1]\nsource=tone\n",
         "[camera 0]: unknown group", TLO_EARG},
        {"[room]\nname=r\n[camera 01]\nsource=test:ball\n[microphone 1]\nsource=tone\n",
         "[camera 01]: unknown group", TLO_EARG},
        {"[room]\nname=r\n[Camera 1]\nsource=test:ball\n[microphone 1]\nsource=tone\n",
         "[Camera 1]: unknown group", TLO_EARG},
        {"[room]\nname=r\n[camera 1]\nsource=test:ball\n[camera 2]\nsource=test:ball\n"
         "[camera 3]\nsource=test:ball\n[camera 4]\nsource=test:ball\n"
         "[camera 5]\nsource=test:ball\n[microphone 1]\nsource=tone\n",
         "[camera 5]: a room has at most 4 cameras", TLO_EARG},
        {"[room]\nname=r\n[camera 1]\nsource=test:ball\n[camera 9999]\nsource=test:ball\n"
         "[microphone 1]\nsource=tone\n",
         "at most 4 cameras", TLO_EARG},
        {"[room]\nname=r\n[camera 1]\nsource=test:ball\n[microphone 1]\nsource=tone\n"
         "[microphone 2]\nsource=tone\n[microphone 3]\nsource=tone\n",
         "[microphone 3]: a room has at most 2 microphones", TLO_EARG},
        {"[room]\nname=r\n[camera 1]\nsource=test:ball\n[camera 3]\nsource=test:ball\n"
         "[microphone 1]\nsource=tone\n",
         "[camera 2]: missing", TLO_EARG},
        {"[room]\nname=r\n[camera 1]\nsource=test:ball\n[microphone 2]\nsource=tone\n",
         "[microphone 1]: missing", TLO_EARG},
        {"[room]\nname=r\n[microphone 1]\nsource=tone\n", "at least one camera", TLO_EARG},
        {"[room]\nname=r\n[camera 1]\nsource=test:ball\n", "at least one microphone", TLO_EARG},
        {"[camera 1]\nsource=test:ball\n[microphone 1]\nsource=tone\n", "[room]: missing",
         TLO_EARG},
        {"[room]\nname=r\n[room]\nname=s\n", "[room]: the group appears twice", TLO_EARG},
        {"name=r\n[room]\n", "not a key file", TLO_EARG},
        {"[room\nname=r\n", "not a key file", TLO_EARG},
        {"\x1b[31m[room]\n", "not a key file", TLO_EARG},
        {"", "[room]: missing", TLO_EARG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_profile(cases[i].text, strlen(cases[i].text));
        tlo_error err = {0};
        tlo_hw_room r;
        int rc = tlo_hw_room_load(path, &r, &err);
        CHECK_ERR(rc, err, cases[i].code, cases[i].needle);
        CHECK_MSG(strstr(err.msg, path) != NULL, "\"%s\" lacks the file name", err.msg);
        CHECK_MSG(printable(err.msg), "control byte in \"%s\"", err.msg);
    }

    tlo_error err = {0};
    tlo_hw_room r;
    /* A NUL byte, a file too large, not a file, no file. */
    static const char nul[] = "[room]\nname=r\0x\n";
    CHECK_ERR(tlo_hw_room_load(write_profile(nul, sizeof nul - 1), &r, &err), err, TLO_EARG, "NUL");
    size_t big = TLO_HW_PROFILE_MAX + 1;
    char *huge = malloc(big);
    memset(huge, '#', big);
    huge[big - 1] = '\n';
    CHECK_ERR(tlo_hw_room_load(write_profile(huge, big), &r, &err), err, TLO_EARG,
              "at most 65536 bytes");
    free(huge);
    CHECK_ERR(tlo_hw_room_load(tmpdir, &r, &err), err, TLO_EARG, "not a regular file");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such.room", tmpdir);
    CHECK_ERR(tlo_hw_room_load(missing, &r, &err), err, TLO_EARG, missing);
    CHECK_ERR(tlo_hw_room_resolve("interview-2", &r, &err), err, TLO_EARG, "\"simulated\"");
    CHECK_ERR(tlo_hw_room_load(NULL, &r, &err), err, TLO_EARG, "no path");
    CHECK_ERR(tlo_hw_room_parse("[room]\n", 7, NULL, &r, &err), err, TLO_EARG, "(text)");

    /* tlo_hw_room_check of rooms filled by hand. */
    tlo_hw_room_simulated(&r);
    r.n_cameras = 5;
    CHECK_ERR(tlo_hw_room_check(&r, &err), err, TLO_EARG, "1 to 4");
    tlo_hw_room_simulated(&r);
    r.cameras[1].fps = 0;
    CHECK_ERR(tlo_hw_room_check(&r, &err), err, TLO_EARG, "camera 2 fps");
    tlo_hw_room_simulated(&r);
    r.microphones[0].source.kind = TLO_HW_SOURCE_TEST;
    CHECK_ERR(tlo_hw_room_check(&r, &err), err, TLO_EARG, "microphone 1");
    tlo_hw_room_simulated(&r);
    r.encoder = (tlo_hw_encoder)7;
    CHECK_ERR(tlo_hw_room_check(&r, &err), err, TLO_EARG, "encoder");
}

/* ---- encoders: fake hardware encoders, one that works and one that
 * fails, prove that auto prefers hardware only when it encodes. ---- */

static void fake_class_init(gpointer klass, gpointer data)
{
    (void)data;
    gst_element_class_set_static_metadata(GST_ELEMENT_CLASS(klass), "fake encoder",
                                          "Codec/Encoder/Video", "test stand-in", "tellonce");
}

static void fake_init(GstBin *bin, bool broken)
{
    GstElement *id = gst_element_factory_make("identity", NULL);
    if (broken)
        g_object_set(id, "error-after", 1, NULL);
    gst_bin_add(bin, id);
    GstPad *sink = gst_element_get_static_pad(id, "sink"),
           *src = gst_element_get_static_pad(id, "src");
    gst_element_add_pad(GST_ELEMENT(bin), gst_ghost_pad_new("sink", sink));
    gst_element_add_pad(GST_ELEMENT(bin), gst_ghost_pad_new("src", src));
    gst_object_unref(sink);
    gst_object_unref(src);
}

static void fake_good_init(GTypeInstance *inst, gpointer klass)
{
    (void)klass;
    fake_init(GST_BIN(inst), false);
}

static void fake_broken_init(GTypeInstance *inst, gpointer klass)
{
    (void)klass;
    fake_init(GST_BIN(inst), true);
}

static bool exists(const char *f)
{
    GstElementFactory *fac = gst_element_factory_find(f);
    if (fac)
        gst_object_unref(fac);
    return fac != NULL;
}

static void test_encoders(void)
{
    bool hw = exists("vaapih264enc") || exists("vah264enc") || exists("nvh264enc");
    const char *e = tlo_hw_encoder_element(TLO_HW_ENCODER_AUTO);
    CHECK(e != NULL);
    if (!hw)
        CHECK_MSG(e && !strcmp(e, "x264enc"), "auto gave %s", e ? e : "NULL");
    CHECK(tlo_hw_encoder_element(TLO_HW_ENCODER_X264) &&
          !strcmp(tlo_hw_encoder_element(TLO_HW_ENCODER_X264), "x264enc"));
    tlo_error err = {0};
    const char *el;
    if (!hw) {
        CHECK(tlo_hw_encoder_element(TLO_HW_ENCODER_VAAPI) == NULL);
        CHECK(tlo_hw_encoder_element(TLO_HW_ENCODER_NVENC) == NULL);
        CHECK_ERR(tlo_hw_encoder_resolve(TLO_HW_ENCODER_VAAPI, &el, &err), err, TLO_EUNSUPPORTED,
                  "vaapih264enc");
        CHECK_ERR(tlo_hw_encoder_resolve(TLO_HW_ENCODER_NVENC, &el, &err), err, TLO_EUNSUPPORTED,
                  "nvh264enc");
        CHECK(el == NULL);
    }
    CHECK(tlo_hw_encoder_resolve(TLO_HW_ENCODER_AUTO, &el, &err) == 0 && el != NULL);
    if (hw) {
        printf("hardware encoders present: fake-encoder checks skipped\n");
        return;
    }
    /* A broken NVENC is skipped; a working VA-API one is preferred. */
    GType broken =
        g_type_register_static_simple(GST_TYPE_BIN, "TloFakeBrokenEnc", sizeof(GstBinClass),
                                      fake_class_init, sizeof(GstBin), fake_broken_init, 0);
    CHECK(gst_element_register(NULL, "nvh264enc", GST_RANK_NONE, broken));
    e = tlo_hw_encoder_element(TLO_HW_ENCODER_AUTO);
    CHECK_MSG(e && !strcmp(e, "x264enc"), "auto with a broken nvh264enc gave %s", e ? e : "NULL");
    e = tlo_hw_encoder_element(TLO_HW_ENCODER_NVENC); /* asked for: given, fails loudly later */
    CHECK(e && !strcmp(e, "nvh264enc"));
    GType good = g_type_register_static_simple(GST_TYPE_BIN, "TloFakeGoodEnc", sizeof(GstBinClass),
                                               fake_class_init, sizeof(GstBin), fake_good_init, 0);
    CHECK(gst_element_register(NULL, "vah264enc", GST_RANK_NONE, good));
    e = tlo_hw_encoder_element(TLO_HW_ENCODER_AUTO);
    CHECK_MSG(e && !strcmp(e, "vah264enc"), "auto with a working vah264enc gave %s",
              e ? e : "NULL");
    e = tlo_hw_encoder_element(TLO_HW_ENCODER_VAAPI);
    CHECK(e && !strcmp(e, "vah264enc"));
    e = tlo_hw_encoder_element(TLO_HW_ENCODER_X264);
    CHECK(e && !strcmp(e, "x264enc"));
}

/* ---- speech ---- */

static void test_speech(void)
{
    tlo_error err = {0};
    uint8_t *wav = (uint8_t *)"x";
    size_t len = 1;
    char *prog = g_find_program_in_path("espeak-ng");
    int rc = tlo_hw_speech_pcm(NULL, &wav, &len, &err);
    if (!prog) {
        CHECK_ERR(rc, err, TLO_EUNSUPPORTED, "espeak-ng");
        CHECK(wav == NULL && len == 0);
        return;
    }
    g_free(prog);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc != 0)
        return;
    CHECK(len > 44 && !memcmp(wav, "RIFF", 4) && !memcmp(wav + 8, "WAVE", 4));
    tlo_hw_wav w;
    CHECK(tlo_hw_wav_parse(wav, len, &w, &err) == 0);
    CHECK(w.bits == 16 && w.channels == 1 && w.rate >= 8000);
    double seconds = (double)w.data_bytes / (w.rate * w.channels * w.bits / 8);
    CHECK_MSG(seconds > 1.0, "%.2f s of speech", seconds);
    /* The sizes are filled in: an ordinary WAV file. */
    CHECK((wav[4] | wav[5] << 8 | wav[6] << 16 | (uint32_t)wav[7] << 24) == len - 8);
    CHECK(w.data_offset + w.data_bytes == len);
    /* Not silence. */
    int peak = 0;
    for (size_t i = w.data_offset; i + 1 < len; i += 2) {
        int s = (int16_t)(wav[i] | wav[i + 1] << 8);
        peak = abs(s) > peak ? abs(s) : peak;
    }
    CHECK_MSG(peak > 3000, "peak %d", peak);
    g_free(wav);

    /* A text starting with '-' is spoken, not taken as an option. */
    CHECK(tlo_hw_speech_pcm("-v", &wav, &len, &err) == 0 && len > 1000);
    g_free(wav);
    CHECK_ERR(tlo_hw_speech_pcm("", &wav, &len, &err), err, TLO_EARG, "1 to 4096");
    CHECK(wav == NULL);
    CHECK_ERR(tlo_hw_speech_pcm("\xff", &wav, &len, &err), err, TLO_EARG, "UTF-8");

    /* The WAV reader on damaged input. */
    static const uint8_t hdr[44] = {'R', 'I', 'F',  'F',  36,  0,   0,    0,    'W',  'A',  'V',
                                    'E', 'f', 'm',  't',  ' ', 16,  0,    0,    0,    1,    0,
                                    1,   0,   0x22, 0x56, 0,   0,   0x44, 0xac, 0,    0,    2,
                                    0,   16,  0,    'd',  'a', 't', 'a',  0xff, 0xff, 0xff, 0x7f};
    uint8_t buf[64];
    memcpy(buf, hdr, 44);
    memset(buf + 44, 1, 20);
    CHECK(tlo_hw_wav_parse(buf, 64, &w, &err) == 0 && w.data_offset == 44 && w.data_bytes == 20);
    CHECK(tlo_hw_wav_parse(buf, 63, &w, &err) == 0 && w.data_bytes == 18); /* whole frames */
    CHECK_ERR(tlo_hw_wav_parse(buf, 30, &w, &err), err, TLO_EFORMAT, "fmt");
    CHECK_ERR(tlo_hw_wav_parse(buf, 11, &w, &err), err, TLO_EFORMAT, "RIFF");
    buf[20] = 3; /* float */
    CHECK_ERR(tlo_hw_wav_parse(buf, 64, &w, &err), err, TLO_EFORMAT, "PCM");
    buf[20] = 1;
    buf[16] = 0xff, buf[17] = 0xff, buf[18] = 0xff, buf[19] = 0xff; /* fmt size past the end */
    CHECK_ERR(tlo_hw_wav_parse(buf, 64, &w, &err), err, TLO_EFORMAT, "fmt");
    memcpy(buf, hdr, 44);
    memcpy(buf + 12, "data", 4); /* data before fmt */
    CHECK_ERR(tlo_hw_wav_parse(buf, 64, &w, &err), err, TLO_EFORMAT, "before fmt");
}

/* ---- devices ---- */

static void test_devices(void)
{
    tlo_error err = {0};
    tlo_hw_device *devs = (tlo_hw_device *)&err;
    size_t n = 99;
    int rc = tlo_hw_devices_list(&devs, &n, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    printf("devices found: %zu\n", n);
    glob_t g;
    bool video_nodes = glob("/dev/video*", 0, NULL, &g) == 0;
    if (video_nodes)
        globfree(&g);
    size_t cameras = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(devs[i].name && devs[i].klass && devs[i].caps);
        cameras += devs[i].kind == TLO_HW_CAMERA;
        if (i > 0)
            CHECK(devs[i - 1].kind <= devs[i].kind); /* cameras first */
    }
    if (!video_nodes)
        CHECK_MSG(cameras == 0, "%zu cameras without /dev/video*", cameras);
    if (n == 0)
        CHECK(devs == NULL);
    tlo_hw_devices_free(devs, n);
    tlo_hw_devices_free(NULL, 0);

    tlo_hw_source s = {.kind = TLO_HW_SOURCE_DEVICE};
    GstElement *e = (GstElement *)&s;
    snprintf(s.value, sizeof s.value, "/dev/video-tellonce-none");
    CHECK_ERR(tlo_hw_device_element(&s, TLO_HW_CAMERA, &e, &err), err, TLO_EIO,
              "/dev/video-tellonce-none is not connected");
    CHECK(e == NULL);
    snprintf(s.value, sizeof s.value, "No Such Microphone");
    CHECK_ERR(tlo_hw_device_element(&s, TLO_HW_MICROPHONE, &e, &err), err, TLO_EIO,
              "tellonce devices");
    s.kind = TLO_HW_SOURCE_TEST;
    CHECK_ERR(tlo_hw_device_element(&s, TLO_HW_CAMERA, &e, &err), err, TLO_EARG, "not a device");
}

/* ---- the bins, running ---- */

typedef struct counter {
    guint64 buffers, bytes, duration;
    int peak;
    char caps[256];
} counter;

static GstPadProbeReturn count_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    counter *c = data;
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    c->buffers++;
    c->bytes += gst_buffer_get_size(b);
    if (GST_BUFFER_DURATION_IS_VALID(b))
        c->duration += GST_BUFFER_DURATION(b);
    if (!c->caps[0]) {
        GstCaps *caps = gst_pad_get_current_caps(pad);
        if (caps) {
            char *s = gst_caps_to_string(caps);
            snprintf(c->caps, sizeof c->caps, "%s", s);
            g_free(s);
            gst_caps_unref(caps);
        }
    }
    if (strstr(c->caps, "audio/x-raw")) {
        GstMapInfo m;
        if (gst_buffer_map(b, &m, GST_MAP_READ)) {
            for (gsize i = 0; i + 1 < m.size; i += 2) {
                int s = abs((int16_t)(m.data[i] | m.data[i + 1] << 8));
                c->peak = s > c->peak ? s : c->peak;
            }
            gst_buffer_unmap(b, &m);
        }
    }
    return GST_PAD_PROBE_OK;
}

/* Runs the bins into fakesinks until EOS; 0 or -1 (error or timeout). */
static int run(GstElement **bins, counter *counts, size_t n, unsigned timeout_s)
{
    GstElement *p = gst_pipeline_new(NULL);
    for (size_t i = 0; i < n; i++) {
        GstElement *sink = gst_element_factory_make("fakesink", NULL);
        g_object_set(sink, "sync", FALSE, NULL);
        gst_bin_add_many(GST_BIN(p), bins[i], sink, NULL);
        CHECK(gst_element_link(bins[i], sink));
        GstPad *pad = gst_element_get_static_pad(bins[i], "src");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &counts[i], NULL);
        gst_object_unref(pad);
    }
    int rc = -1;
    if (gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
        GstBus *bus = gst_element_get_bus(p);
        GstMessage *m = gst_bus_timed_pop_filtered(bus, timeout_s * GST_SECOND,
                                                   GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
        if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS)
            rc = 0;
        else if (m) {
            GError *ge = NULL;
            gst_message_parse_error(m, &ge, NULL);
            fprintf(stderr, "pipeline error: %s\n", ge ? ge->message : "?");
            g_clear_error(&ge);
        } else {
            fprintf(stderr, "pipeline timed out\n");
        }
        if (m)
            gst_message_unref(m);
        gst_object_unref(bus);
    }
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    return rc;
}

static GstElement *find_factory(GstElement *bin, const char *factory)
{
    GstIterator *it = gst_bin_iterate_recurse(GST_BIN(bin));
    GValue v = G_VALUE_INIT;
    GstElement *found = NULL;
    while (!found && gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement *e = g_value_get_object(&v);
        GstElementFactory *f = gst_element_get_factory(e);
        if (f && !strcmp(GST_OBJECT_NAME(f), factory))
            found = e;
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    return found;
}

/* Holds the stream-start event of a source for 0.7 s: a source that starts
 * late, as a slow machine has them. The sleep is the fault injected, on
 * purpose, not a wait for something to happen. */
static GstPadProbeReturn late_start(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    (void)data;
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_STREAM_START)
        g_usleep(700 * 1000);
    return GST_PAD_PROBE_OK;
}

static void test_bins(void)
{
    tlo_error err = {0};
    tlo_hw_room room;
    tlo_hw_room_simulated(&room);
    char *espeak = g_find_program_in_path("espeak-ng");
    bool speech = espeak != NULL;
    g_free(espeak);
    tlo_hw_stream_opts opts = {.live = false, .duration_seconds = 2, .encoder = "x264enc"};

    GstElement *bins[3];
    counter counts[3];
    memset(counts, 0, sizeof counts);
    bins[0] = tlo_hw_camera_bin(&room, 0, &opts, &err);
    CHECK_MSG(bins[0] != NULL, "%s", err.msg);
    bins[1] = tlo_hw_camera_bin(&room, 1, &opts, &err);
    CHECK_MSG(bins[1] != NULL, "%s", err.msg);
    bins[2] = speech ? tlo_hw_microphone_bin(&room, 0, &opts, &err) : NULL;
    CHECK_MSG(!speech || bins[2] != NULL, "%s", err.msg);
    if (!bins[0] || !bins[1] || (speech && !bins[2]))
        return;
    /* The encoder has the room's bitrate and a keyframe every segment. */
    GstElement *enc = find_factory(bins[0], "x264enc");
    CHECK(enc != NULL);
    if (enc) {
        guint bitrate = 0, keyint = 0;
        g_object_get(enc, "bitrate", &bitrate, "key-int-max", &keyint, NULL);
        CHECK(bitrate == 1500 && keyint == 100);
    }
    CHECK(find_factory(bins[0], "clockoverlay") != NULL); /* caption on */
    CHECK(find_factory(bins[0], "timeoverlay") != NULL);  /* running clock */
    CHECK(run(bins, counts, speech ? 3 : 2, 30) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK_MSG(counts[i].buffers == 50, "camera %d: %llu frames", i + 1,
                  (unsigned long long)counts[i].buffers);
        CHECK_MSG(strstr(counts[i].caps, "video/x-h264") &&
                      strstr(counts[i].caps, "width=(int)640"),
                  "%s", counts[i].caps);
    }
    if (speech) {
        double s = (double)counts[2].duration / GST_SECOND;
        CHECK_MSG(s > 1.9 && s < 2.1, "%.3f s of audio", s);
        CHECK_MSG(strstr(counts[2].caps, "rate=(int)48000") && strstr(counts[2].caps, "S16LE"),
                  "%s", counts[2].caps);
        /* Speech, not only the quiet noise (0.02 of full scale, ~650). */
        CHECK_MSG(counts[2].peak > 3000, "peak %d", counts[2].peak);
    }

    /* Live, as the demo records: real time, 1 s. */
    if (speech) {
        tlo_hw_stream_opts live = {.live = true, .duration_seconds = 1, .encoder = "x264enc"};
        memset(counts, 0, sizeof counts);
        bins[0] = tlo_hw_camera_bin(&room, 0, &live, &err);
        bins[1] = tlo_hw_microphone_bin(&room, 0, &live, &err);
        CHECK_MSG(bins[0] && bins[1], "%s", err.msg);
        if (bins[0] && bins[1]) {
            gint64 t0 = g_get_monotonic_time();
            CHECK(run(bins, counts, 2, 60) == 0);
            double took = (double)(g_get_monotonic_time() - t0) / 1e6;
            /* Paced by the clock (no upper bound: a loaded machine is slower). */
            CHECK_MSG(took > 0.8, "live second took %.2f s", took);
            CHECK_MSG(counts[0].buffers == 25, "%llu frames",
                      (unsigned long long)counts[0].buffers);
            CHECK_MSG(counts[1].duration >= GST_SECOND * 9 / 10, "%.3f s of audio",
                      (double)counts[1].duration / GST_SECOND);
        }
    }

    /* Live speech that starts 0.7 s late is timestamped from when it starts,
     * not from 0: otherwise the mixer drops it as late, all of it on a
     * loaded machine. */
    if (speech) {
        tlo_hw_stream_opts live = {.live = true, .duration_seconds = 1, .encoder = "x264enc"};
        memset(counts, 0, sizeof counts);
        bins[0] = tlo_hw_microphone_bin(&room, 0, &live, &err);
        GstElement *appsrc = bins[0] ? find_factory(bins[0], "appsrc") : NULL;
        CHECK(appsrc != NULL);
        if (appsrc) {
            GstPad *pad = gst_element_get_static_pad(appsrc, "src");
            gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, late_start, NULL, NULL);
            gst_object_unref(pad);
            CHECK(run(bins, counts, 1, 60) == 0);
            double s = (double)counts[0].duration / GST_SECOND;
            CHECK_MSG(s > 1.5, "%.3f s of audio: the late speech was dropped", s);
            CHECK_MSG(counts[0].peak > 3000, "peak %d", counts[0].peak);
        } else if (bins[0]) {
            gst_object_unref(gst_object_ref_sink(bins[0]));
        }
    }

    /* A tone microphone; a profile room with a borrowed speech WAV. */
    room.microphones[0].source.kind = TLO_HW_SOURCE_TONE;
    room.caption = false;
    memset(counts, 0, sizeof counts);
    bins[0] = tlo_hw_microphone_bin(&room, 0, &opts, &err);
    CHECK_MSG(bins[0] != NULL, "%s", err.msg);
    if (bins[0]) {
        CHECK(run(bins, counts, 1, 10) == 0);
        CHECK(counts[0].buffers == 100 && counts[0].peak > 5000);
    }
    bins[0] = tlo_hw_camera_bin(&room, 0, &opts, &err);
    CHECK(bins[0] && find_factory(bins[0], "clockoverlay") == NULL); /* caption off */
    if (bins[0])
        gst_object_unref(gst_object_ref_sink(bins[0]));

    /* Failures are named. */
    CHECK(tlo_hw_camera_bin(&room, 2, &opts, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EARG, "no camera 3");
    CHECK(tlo_hw_microphone_bin(&room, 1, &opts, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EARG, "no microphone 2");
    tlo_hw_stream_opts bad_enc = opts;
    bad_enc.encoder = "nosuchenc";
    CHECK(tlo_hw_camera_bin(&room, 0, &bad_enc, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EUNSUPPORTED, "nosuchenc");
    room.cameras[0].source.kind = TLO_HW_SOURCE_DEVICE;
    snprintf(room.cameras[0].source.value, sizeof room.cameras[0].source.value, "Gone Camera");
    CHECK(tlo_hw_camera_bin(&room, 0, &opts, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EIO, "Gone Camera");
    room.cameras[0].width = 1;
    CHECK(tlo_hw_camera_bin(&room, 0, &opts, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EARG, "width");
    static const uint8_t not_wav[16] = "not a wav file";
    tlo_hw_room_simulated(&room);
    tlo_hw_stream_opts bad_wav = opts;
    bad_wav.speech_wav = not_wav;
    bad_wav.speech_len = sizeof not_wav;
    CHECK(tlo_hw_microphone_bin(&room, 0, &bad_wav, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, "RIFF");
}

int main(void)
{
    gst_init(NULL, NULL);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_simulated();
    test_full_profile();
    test_bad_values();
    test_bad_structure();
    test_encoders();
    test_speech();
    test_devices();
    test_bins();
    for (int i = 0; i < nfiles; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/room-%d.room", tmpdir, i);
        unlink(path);
    }
    rmdir(tmpdir);
    return tu_finish("hw");
}
