/* tellonce devices — the cameras and microphones GStreamer finds, with the
 * formats each offers, and the H.264 encoder encoder=auto would use. */
#include "cli.h"
#include "hw.h"

#include <getopt.h>
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

/* Declared in cli.h once main.c dispatches to it. */

static void devices_usage(FILE *f)
{
    fputs(_("usage: tellonce devices [--json]\n"
            "\n"
            "Lists the cameras (Video/Source) and microphones (Audio/Source) found on this\n"
            "machine, with the formats each offers, and the H.264 encoder a room profile's\n"
            "encoder=auto uses here. A profile names a device as device:NAME, NAME being the\n"
            "name or the path shown (docs/rooms.md). With none found, the built-in room\n"
            "'simulated' still records.\n"),
          f);
}

/* A device name comes from the hardware: control bytes are shown as '?'. */
static void print_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
}

/* The formats of a caps string, one GstStructure each. */
static char **formats(const char *caps_text, guint *n)
{
    GstCaps *caps = caps_text && *caps_text ? gst_caps_from_string(caps_text) : NULL;
    *n = caps ? gst_caps_get_size(caps) : 0;
    char **out = g_new0(char *, *n + 1);
    for (guint i = 0; i < *n; i++)
        out[i] = gst_structure_to_string(gst_caps_get_structure(caps, i));
    if (caps)
        gst_caps_unref(caps);
    return out;
}

static void print_json(const tlo_hw_device *devs, size_t n, const char *encoder)
{
    static const char *const groups[] = {"cameras", "microphones"};
    fputc('{', stdout);
    for (int g = 0; g < 2; g++) {
        printf("%s\"%s\":[", g ? "," : "", groups[g]);
        int first = 1;
        for (size_t i = 0; i < n; i++) {
            const tlo_hw_device *d = &devs[i];
            if ((int)d->kind != g)
                continue;
            printf("%s{\"name\":", first ? "" : ",");
            first = 0;
            cli_json_string(stdout, d->name);
            printf(",\"class\":");
            cli_json_string(stdout, d->klass);
            printf(",\"path\":");
            if (d->path)
                cli_json_string(stdout, d->path);
            else
                printf("null");
            printf(",\"formats\":[");
            guint nf;
            char **f = formats(d->caps, &nf);
            for (guint k = 0; k < nf; k++) {
                if (k)
                    fputc(',', stdout);
                cli_json_string(stdout, f[k]);
            }
            g_strfreev(f);
            printf("]}");
        }
        fputc(']', stdout);
    }
    printf(",\"encoder_auto\":");
    if (encoder)
        cli_json_string(stdout, encoder);
    else
        printf("null");
    printf("}\n");
}

static void print_human(const tlo_hw_device *devs, size_t n, const char *encoder)
{
    static const char *const titles[] = {N_("cameras:\n"), N_("microphones:\n")};
    static const char *const none[] = {N_("cameras: none found\n"),
                                       N_("microphones: none found\n")};
    if (n == 0)
        fputs(_("no cameras or microphones found\n"
                "(the built-in room 'simulated' records without them: tellonce record CASE "
                "--room simulated)\n"),
              stdout);
    for (int g = 0; g < 2 && n > 0; g++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
            count += (int)devs[i].kind == g;
        fputs(count ? _(titles[g]) : _(none[g]), stdout);
        for (size_t i = 0; i < n; i++) {
            const tlo_hw_device *d = &devs[i];
            if ((int)d->kind != g)
                continue;
            printf("  ");
            print_text(d->name);
            if (d->path) {
                printf("  (");
                print_text(d->path);
                putchar(')');
            }
            putchar('\n');
            guint nf;
            char **f = formats(d->caps, &nf);
            for (guint k = 0; k < nf; k++) {
                printf("    ");
                print_text(f[k]);
                putchar('\n');
            }
            g_strfreev(f);
        }
    }
    if (encoder)
        printf(_("H.264 encoder for encoder=auto: %s\n"), encoder);
    else
        fputs(_("H.264 encoder for encoder=auto: none (install gstreamer1.0-plugins-ugly for "
                "x264enc)\n"),
              stdout);
}

int cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int json = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'h':
            devices_usage(stdout);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("devices takes no arguments (see 'tellonce devices --help')");
        return EXIT_USAGE;
    }
    gst_init(NULL, NULL);
    tlo_hw_device *devs = NULL;
    size_t n = 0;
    tlo_error err = {0};
    if (tlo_hw_devices_list(&devs, &n, &err) != 0)
        return cli_fail(&err);
    const char *encoder = tlo_hw_encoder_element(TLO_HW_ENCODER_AUTO);
    if (json)
        print_json(devs, n, encoder);
    else
        print_human(devs, n, encoder);
    tlo_hw_devices_free(devs, n);
    return EXIT_OK;
}
